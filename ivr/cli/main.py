"""The `hotline` command group: every domain's commands gathered under one name (run.py runs it too)."""

from __future__ import annotations

import logging

import click

from ivr.calls.commands import calls, publish_fallback, why
from ivr.cli.phone import call
from ivr.cli.running import check_config, init_db, scheduler_process, serve, spool_replay
from ivr.configuration.commands import publish
from ivr.customers.commands import customers
from ivr.people.commands import api_token, create_user_command, deactivate_user_command, users
from ivr.quality.commands import audit, quality_report
from ivr.queueing.agent_roster_commands import agents
from ivr.queueing.commands import queues, storm_report
from ivr.surveys.commands import callbacks, satisfaction_report
from ivr.work_orders.deadline_commands import deadlines
from ivr.work_orders.export_commands import export


@click.group()
def cli() -> None:
    """Utility customer-service hotline on Twilio."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@click.group()
def report() -> None:
    """Reports for supervisors and quality staff (docs/quality-report.md)."""


for command in (quality_report, satisfaction_report, storm_report):
    report.add_command(command)

for command in (
    init_db,
    check_config,
    serve,
    scheduler_process,
    spool_replay,
    call,
    calls,
    why,
    publish_fallback,
    publish,
    create_user_command,
    deactivate_user_command,
    api_token,
    users,
    audit,
    report,
    callbacks,
    queues,
    agents,
    deadlines,
    export,
    customers,
):
    cli.add_command(command)
