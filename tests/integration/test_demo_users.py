"""`init-db --demo` gives one login per role with a published password, so it must stay on this machine."""

from __future__ import annotations

from dataclasses import replace

from ivr.cli.running import demo_password_problems
from ivr.db.models import Agent, User
from ivr.db.session import unit_of_work
from ivr.people.demo_users import DEMO_PASSWORD, DEMO_USERS, load_demo_users
from ivr.people.user_admin import issue_password_link, set_password_by_link
from ivr.people.users import authenticate


def test_one_demo_login_per_role_and_agents_linked_to_their_seats(hotline) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        created = load_demo_users(session)
        assert load_demo_users(session) == []  # once: a database with users gets none
    assert {role for _, role, _ in DEMO_USERS} == {"admin", "supervisor", "shift_lead", "quality", "agent"}
    assert len(created) == len(DEMO_USERS)
    with hotline.sessions() as session:
        for username, role, agent_name in DEMO_USERS:
            user = authenticate(session, username=username, password=DEMO_PASSWORD)
            assert user is not None and user.role == role
            if agent_name:
                assert session.get(Agent, user.agent_id).name == agent_name


def test_a_reachable_server_refuses_to_start_while_a_demo_password_is_left(hotline) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        load_demo_users(session)
    hotline.settings = replace(hotline.settings, public_base_url="")
    assert demo_password_problems(hotline, listen_host="127.0.0.1") == []  # this machine only: fine
    assert demo_password_problems(hotline, listen_host="0.0.0.0")  # anyone on the network could log in
    hotline.settings = replace(hotline.settings, public_base_url="https://hotline.example.com")
    (problem,) = demo_password_problems(hotline, listen_host="127.0.0.1")
    assert "admin" in problem and "chen" in problem and "IVR_PUBLIC_BASE_URL" in problem
    with unit_of_work(hotline.sessions) as session:
        for username, _, _ in DEMO_USERS:
            link = issue_password_link(session, username=username, by="test")
            set_password_by_link(session, token=link, password="a-new-secret-1")
    assert demo_password_problems(hotline, listen_host="0.0.0.0") == []
    with hotline.sessions() as session:
        assert session.query(User).count() == len(DEMO_USERS)
