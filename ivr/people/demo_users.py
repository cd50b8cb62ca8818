"""Demo users for `make run`: one login per role, with a password everyone can read, so loopback only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from ivr.db.models import Agent, User
from ivr.people.user_admin import create_user

DEMO_PASSWORD = "demo-hotline"
# username, role, the demo agent (by name) an agent user works as
DEMO_USERS = (
    ("admin", "admin", None),
    ("wang", "supervisor", None),
    ("liu", "shift_lead", None),
    ("zhou", "quality", None),
    ("chen", "agent", "陈静"),
    ("zhao", "agent", "赵磊"),
)


def load_demo_users(session: Session) -> list[str]:
    """Create the demo users once (none if any user exists); returns "username (role)" of each created."""
    if session.scalar(select(func.count()).select_from(User)):
        return []
    created = []
    for username, role, agent_name in DEMO_USERS:
        agent_id = session.scalar(select(Agent.id).where(Agent.name == agent_name)) if agent_name else None
        if agent_name and agent_id is None:
            continue  # the demo agent is not there (an install without the demo agents)
        create_user(session, username=username, role=role, password=DEMO_PASSWORD, agent_id=agent_id)
        created.append(f"{username} ({role})")
    return created


def users_with_the_demo_password(session: Session) -> list[str]:
    """The active demo usernames whose password is still the published demo one."""
    users = session.scalars(
        select(User).where(User.username.in_([name for name, _, _ in DEMO_USERS]), User.active.is_(True))
    )
    return [user.username for user in users if check_password_hash(user.password_hash, DEMO_PASSWORD)]
