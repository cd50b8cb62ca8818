"""The key that signs login sessions and CSRF tokens: IVR_SECRET_KEY, or one kept in the instance dir."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

ENV_NAME = "IVR_SECRET_KEY"


def secret_key_from_env() -> str | None:
    """IVR_SECRET_KEY when set (production sets it, so every worker and host signs alike)."""
    return os.environ.get(ENV_NAME, "").strip() or None


def secret_key_file() -> Path:
    """Where a generated key is kept: <IVR_INSTANCE_DIR or ./instance>/secret_key."""
    instance = os.environ.get("IVR_INSTANCE_DIR", "").strip()
    return Path(instance or Path.cwd() / "instance") / "secret_key"


def stored_secret_key(path: Path | None = None) -> str:
    """The key in `path`, created on first use, so a restart keeps everyone logged in."""
    path = path or secret_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a temporary file, then linked into place: two workers starting together
        # never read a half-written key, and the one that loses the race reads the winner's.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it (everyone logs in again) or set {ENV_NAME}")
    return key


class KeyOnFirstUse(SecureCookieSessionInterface):
    """Cookie sessions whose stored key is read (or made) at the first request with a session."""

    def __init__(self, sessionless: tuple[str, ...], no_session: tuple[str, ...] = ()):
        self.sessionless = sessionless  # path prefixes that never use a session (webhooks, the token API)
        self.no_session = no_session  # of those, the ones given the null session (nothing saved after)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(self.no_session):
            return self.make_null_session(app)
        # Here, not in a before_request hook: the session is opened before those run.
        if not app.secret_key and not request.path.startswith(self.sessionless):
            app.secret_key = stored_secret_key()
        return super().open_session(app, request)
