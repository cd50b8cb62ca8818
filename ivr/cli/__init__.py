"""The command line: run.py's commands and the terminal phone."""
