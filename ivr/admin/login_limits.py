"""Login lock-out: failed logins counted by account and by address (Flask-Limiter, docs/users.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from ivr.config import Settings

LOGIN_ENDPOINT = "admin.login"


def init_login_limits(app: Flask, settings: Settings) -> Limiter:
    """Count failed logins per username and per address; past either limit, every login is refused.

    Only failures count, and the check comes before the password is looked at, so while an account (or
    an address) is locked even the right password is refused. The storage is in this process's memory
    unless IVR_RATELIMIT_STORAGE_URI names a shared one (redis://...) for several workers.
    """
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.ratelimit_storage_uri,
        strategy="moving-window",
        headers_enabled=True,
    )
    # Nothing but the login form is rate limited: no webhook pays for a limiter look-up.
    limiter.request_filter(lambda: request.endpoint != LOGIN_ENDPOINT)
    view: Callable[..., Any] = app.view_functions[LOGIN_ENDPOINT]
    for limit, key in (
        (settings.login_lockout_account, account_key),
        (settings.login_lockout_address, address_key),
    ):
        view = limiter.limit(limit, key_func=key, methods=["POST"], deduct_when=_login_failed)(view)
    app.view_functions[LOGIN_ENDPOINT] = view
    app.register_error_handler(RateLimitExceeded, _locked_out)
    return limiter


def account_key() -> str:
    """The username typed in the form."""
    return "account:" + request.form.get("username", "").strip()


def address_key() -> str:
    """The address the login came from (behind a proxy: as IVR_TRUST_PROXY reads it)."""
    return "address:" + get_remote_address()


def mark_failed_login() -> None:
    """Called by the login view when the username and password did not match: this attempt counts."""
    g.login_failed = True


def _login_failed(_response: Response) -> bool:
    return bool(g.get("login_failed"))


def _locked_out(error: RateLimitExceeded) -> tuple[str, int]:
    from ivr.admin.forms import LoginForm

    minutes = max(1, round(error.limit.limit.get_expiry() / 60))
    by_account = error.limit.key_func is account_key
    message = (
        f"此账号登录失败次数过多，已锁定，请 {minutes} 分钟后再试 / "
        f"Too many failed logins for this account: it is locked, try again in {minutes} minutes"
        if by_account
        else f"此地址登录失败次数过多，已锁定，请 {minutes} 分钟后再试 / "
        f"Too many failed logins from this address: try again in {minutes} minutes"
    )
    return render_template("admin/login.html", form=LoginForm(formdata=None), locked=message), 429
