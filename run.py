"""The hotline's command line, as the README runs it (`python run.py serve`); the same as `hotline`."""

from ivr.cli.main import cli

__all__ = ["cli"]  # tests invoke it through click's CliRunner

if __name__ == "__main__":
    cli()
