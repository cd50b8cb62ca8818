"""Work orders: what a request becomes after the call."""
