"""The supervisor console: the floor (live board, history, staffing) and the configuration pages."""
