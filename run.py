"""The hotline's command line, as the README runs it (`python run.py serve`); the same as `hotline`."""

from ivr.cli.main import cli

if __name__ == "__main__":
    cli()
