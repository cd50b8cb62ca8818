"""The command line lives in the package: run.py, `hotline` and `python -m ivr.cli` are one click group."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import click

import run
from ivr.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]

# Every command the README, docs/, the Makefile and the tests use (run.py's tree before the move).
COMMANDS = {
    "init-db", "check-config", "serve", "scheduler", "spool-replay", "call", "calls", "why", "publish",
    "publish-fallback", "create-user", "deactivate-user", "api-token new", "api-token revoke", "audit sample",
    "audit status", "report quality", "report satisfaction", "report storm", "callbacks import",
    "callbacks hotline", "callbacks select", "callbacks try", "callbacks schedule", "callbacks status",
    "callbacks policy publish", "callbacks policy show", "queues sync",
    "callbacks jobs", "callbacks retry", "callbacks cancel",
    "deadlines show", "deadlines check", "deadlines load", "deadlines versions", "deadlines rollback",
    "export work-orders", "export calls",
    "agents list", "agents add", "agents edit", "agents deactivate", "agents reactivate", "agents import",
    "users list", "users set-role", "users link-agent", "users deactivate", "users reactivate",
    "users reset-link",
    "customers import", "customers find",
}  # fmt: skip


def leaves(group: click.Group, path: str = "") -> dict[str, click.Command]:
    """Every runnable command under `group`, by its full name."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        full = f"{path} {name}".strip()
        if isinstance(command, click.Group):
            found |= leaves(command, full)
        else:
            found[full] = command
    return found


def test_every_command_is_there_under_its_name() -> None:
    assert set(leaves(cli)) == COMMANDS


def test_run_py_is_a_thin_entry_to_the_same_group() -> None:
    assert run.cli is cli
    assert len((ROOT / "run.py").read_text().splitlines()) <= 10


def test_the_console_script_is_the_same_group() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"hotline": "ivr.cli.main:cli"}


def test_each_command_says_what_it_does_in_one_line() -> None:
    for name, command in leaves(cli).items():
        text = (command.help or "").strip()
        assert text and "\n" not in text, name


def test_python_m_ivr_cli_runs_the_group() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "callbacks" in result.stdout and "publish-fallback" in result.stdout
