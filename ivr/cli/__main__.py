"""`python -m ivr.cli`: the same command line as `hotline` and run.py."""

from ivr.cli.main import cli

cli()
