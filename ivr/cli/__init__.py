"""The command line: the `hotline` group (run.py's too), the running of the server, the terminal phone."""
