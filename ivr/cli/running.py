"""Commands that set up and run the hotline: init-db, check-config, serve, scheduler, spool-replay."""

from __future__ import annotations

import os
import signal
import sys

import click

from ivr.cli.context import command_hotline
from ivr.config import development_token_problems, load_settings, reachable_reasons
from ivr.hotline import Hotline


@click.command("init-db")
@click.option("--demo/--no-demo", default=False, help="Also load demo customers, agents and work orders.")
def init_db(demo: bool) -> None:
    """Create or migrate the database and store the default menu."""
    from ivr.setup import init_database

    for line in init_database(command_hotline(), demo=demo):
        click.echo(line)


@click.command("check-config")
@click.option(
    "--menu", "menu_file", type=click.Path(exists=True, dir_okay=False), help="A menu file to check."
)
@click.option("--no-db", is_flag=True, help="Do not check the live menu in the database.")
def check_config(menu_file: str | None, no_db: bool) -> None:
    """Validate prompts and menus; exit 1 naming every problem."""
    from ivr.setup import config_problems

    problems = development_token_problems(load_settings()) + config_problems(
        None if no_db else command_hotline(), menu_file
    )
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo("configuration ok")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option(
    "--scheduler/--no-scheduler",
    default=None,
    help="Run the scheduled jobs beside the server [default: IVR_SCHEDULER_IN_PROCESS, on].",
)
@click.option("--debug", is_flag=True, help="Flask's development server, one process: never in production.")
def serve(host: str, port: int, scheduler: bool | None, debug: bool) -> None:
    """Serve the webhooks through gunicorn, with the scheduled jobs in a process beside it (by default)."""
    from ivr.app import create_app
    from ivr.jobs.scheduler import build_scheduler
    from ivr.setup import config_problems

    hotline = command_hotline()
    settings = hotline.settings
    problems = development_token_problems(settings, listen_host=host) + config_problems(hotline)
    problems += demo_password_problems(hotline, listen_host=host)
    if problems:
        for problem in problems:
            click.echo(f"refusing to start: {problem}", err=True)
        sys.exit(1)
    with_scheduler = settings.scheduler_in_process if scheduler is None else scheduler
    click.echo(f"hotline answering on http://{host}:{port}/voice/incoming (telephony: {settings.telephony})")
    from ivr.cli.serving import HotlineServer, with_served_simulator

    if not settings.simulator_webhook_url:
        # The simulator's calls (call-backs) reach this server where it listens; the workers and the
        # scheduler process read it from the environment they inherit.
        loopback = "127.0.0.1" if host in ("0.0.0.0", "", "localhost") else host
        os.environ["IVR_SIMULATOR_WEBHOOK_URL"] = f"http://{loopback}:{port}"
        hotline.settings = settings = settings.with_overrides(simulator_webhook_url=f"http://{loopback}:{port}")
    if debug:
        with_served_simulator(hotline)
        if with_scheduler:
            build_scheduler(hotline).start()
        create_app(hotline=hotline).run(host=host, port=port, threaded=True, use_reloader=False)
        return

    hotline.engine.dispose()  # the workers fork from this process: each opens its own connections
    HotlineServer(settings, f"{host}:{port}", scheduler_command() if with_scheduler else None).run()


def demo_password_problems(hotline: Hotline, *, listen_host: str) -> list[str]:
    """The demo users' published password is for a server only this machine can reach."""
    from ivr.people.demo_users import users_with_the_demo_password

    reasons = reachable_reasons(hotline.settings, listen_host)
    if not reasons:
        return []
    with hotline.sessions() as session:
        users = users_with_the_demo_password(session)
    if not users:
        return []
    return [
        f"the demo users {', '.join(users)} still have the published demo password ({', '.join(reasons)}): "
        "reset their passwords (run.py users reset-link NAME) or deactivate them first"
    ]


def scheduler_command() -> list[str]:
    """This process's own script running `scheduler` (`run.py scheduler`, `hotline scheduler`), else -m."""
    entry = os.path.abspath(sys.argv[0])
    if not os.path.isfile(entry) or os.path.basename(entry) == "__main__.py":
        return [sys.executable, "-m", "ivr.cli", "scheduler"]
    return [sys.executable, entry, "scheduler"]


@click.command("scheduler")
def scheduler_process() -> None:
    """Run the scheduled jobs in their own process (when the web runs under gunicorn)."""
    from ivr.jobs.scheduler import build_scheduler

    hotline = command_hotline()
    # The scheduler's call-backs hand Twilio URLs of this server: the same token rule as serve.
    problems = development_token_problems(hotline.settings)
    for problem in problems:
        click.echo(f"refusing to start: {problem}", err=True)
    if problems:
        sys.exit(1)
    # SIGTERM (from `serve`, or a process manager) and Ctrl-C: jobs running finish, none start, exit 0.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: sys.exit(0))
    from ivr.cli.serving import with_served_simulator

    with_served_simulator(hotline)  # the simulator places the call-backs (IVR_TELEPHONY=simulator)
    build_scheduler(hotline, blocking=True).start()


@click.command("spool-replay")
def spool_replay() -> None:
    """Write call events kept in the local spool while the database was down."""
    from ivr.jobs.scheduler import replay_spool

    hotline = command_hotline()
    written = replay_spool(hotline)
    click.echo(f"{written} events written; {len(hotline.spool.pending())} still waiting")
