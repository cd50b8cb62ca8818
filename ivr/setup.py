"""Database set-up and start-up checks shared by the CLI and the tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

import prompts as prompt_catalogues
from ivr.configuration.menus.store import live_version, seed_default_menu
from ivr.configuration.menus.validation import InvalidMenu, load_menu_file, validate_document
from ivr.configuration.rules.store import live_rules_row, seed_default_rules
from ivr.configuration.rules.validation import InvalidRules, load_rules_file, validate_rules
from ivr.db import migrate
from ivr.db.demo import load_demo_callbacks, load_demo_data
from ivr.db.session import unit_of_work
from ivr.demo_calls import load_demo_calls
from ivr.hotline import Hotline
from ivr.people.demo_users import DEMO_PASSWORD, load_demo_users
from ivr.telephony.factory import telephony_problems
from ivr.work_orders.deadline_rules import InvalidDeadlines, load_deadlines_file, validate_deadlines
from ivr.work_orders.deadline_versions import live_row as live_deadlines_row
from ivr.work_orders.deadline_versions import seed_default_deadlines


def init_database(hotline: Hotline, *, demo: bool) -> list[str]:
    """Migrate to the newest schema, seed the default menu and, if asked, the demo data."""
    done = []
    migrate.upgrade(hotline.engine)
    done.append("schema up to date")
    with unit_of_work(hotline.sessions) as session:
        if seed_default_menu(session):
            done.append("default menu stored as version 1")
        if seed_default_rules(session):
            done.append("default routing rules stored as version 1")
        if seed_default_deadlines(session):
            done.append("default work-order deadline rules stored as version 1")
        if demo and load_demo_data(session):
            done.append("demo customers, agents and work orders loaded")
            if jobs := load_demo_callbacks(session, hotline.settings):
                done.append(f"demo completions: {jobs} satisfaction call-back jobs (run.py callbacks status)")
        if demo and (users := load_demo_users(session)):
            done.append(f"demo users, password {DEMO_PASSWORD!r} (this machine only): {', '.join(users)}")
        if demo and (calls := load_demo_calls(session, hotline.settings)):
            done.append(f"demo calls: {calls} calls of the last days (CallSids CAdemo...), most recorded")
    return done


def config_problems(hotline: Hotline | None = None, menu_file: str | None = None) -> list[str]:
    """Every problem with prompts, the shipped (or given) menu file and the live menu, in words."""
    problems = [
        f"prompts: {p}" for p in prompt_catalogues.parity_problems(prompt_catalogues.load_catalogues())
    ]
    from pathlib import Path

    path = Path(menu_file) if menu_file else None
    try:
        validate_document(load_menu_file(path) if path else load_menu_file())
    except InvalidMenu as invalid:
        problems += [f"menu file {path or 'default'}: {p}" for p in invalid.problems]
    except (OSError, ValueError) as error:
        problems.append(f"menu file {path or 'default'}: cannot be read ({error})")
    try:
        validate_rules(load_rules_file())
    except InvalidRules as invalid:
        problems += [f"routing rules file: {p}" for p in invalid.problems]
    try:
        validate_deadlines(load_deadlines_file())
    except InvalidDeadlines as invalid:
        problems += [f"deadline rules file: {p}" for p in invalid.problems]
    if hotline is not None:
        problems += [f"settings: {p}" for p in telephony_problems(hotline.settings)]
        problems += _live_menu_problems(hotline)
        problems += _live_rules_problems(hotline)
        problems += _live_deadlines_problems(hotline)
    return problems


def _live_deadlines_problems(hotline: Hotline) -> list[str]:
    with hotline.sessions() as session:
        row = live_deadlines_row(session)
    if row is None:  # the defaults file is live, checked above
        return []
    try:
        validate_deadlines(row.document)
    except InvalidDeadlines as invalid:
        return [f"live deadline rules version {row.version}: {p}" for p in invalid.problems]
    return []


def _live_rules_problems(hotline: Hotline) -> list[str]:
    with hotline.sessions() as session:
        row = live_rules_row(session)
    if row is None:
        return ["database: no routing rules published yet; run `python run.py init-db`"]
    try:
        validate_rules(row.document)
    except InvalidRules as invalid:
        return [f"live routing rules version {row.version}: {p}" for p in invalid.problems]
    return []


def _live_menu_problems(hotline: Hotline) -> list[str]:
    session: Session
    with hotline.sessions() as session:
        row = live_version(session)
    if row is None:
        return ["database: no menu published yet; run `python run.py init-db`"]
    try:
        validate_document(row.document)
    except InvalidMenu as invalid:
        return [f"live menu version {row.version}: {p}" for p in invalid.problems]
    return []
