"""Login lock-out: failed logins counted by account and by address (the `limits` library, docs/users.md).

`limits` is Flask-Limiter's engine, used here directly: Flask-Limiter's before/after-request hooks run on
every request of the app and cost ~29 us on each Twilio webhook (measured in-process), for a limit that
only the login form needs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import RateLimitItem, parse, storage, strategies

from ivr.config import Settings


@dataclass(frozen=True)
class Lockout:
    """Why logins are refused now, and for how many seconds more."""

    by_account: bool
    retry_after: int

    def message(self) -> str:
        """What the login page says, in both languages."""
        minutes = max(1, math.ceil(self.retry_after / 60))
        if self.by_account:
            return (
                f"此账号登录失败次数过多，已锁定，请 {minutes} 分钟后再试 / "
                f"Too many failed logins for this account: it is locked, try again in {minutes} minutes"
            )
        return (
            f"此地址登录失败次数过多，已锁定，请 {minutes} 分钟后再试 / "
            f"Too many failed logins from this address: try again in {minutes} minutes"
        )


class LoginLimits:
    """Failed logins in a moving window, per username and per address; past either limit, every login
    there is refused (even with the right password) until the oldest counted failure leaves the window.

    The counts live in this process's memory unless IVR_RATELIMIT_STORAGE_URI names a shared storage
    (redis://...) for several workers.
    """

    def __init__(self, settings: Settings) -> None:
        counts = storage.storage_from_string(settings.ratelimit_storage_uri)
        self._window = strategies.MovingWindowRateLimiter(counts)
        self._per_account = parse(settings.login_lockout_account)
        self._per_address = parse(settings.login_lockout_address)

    def lockout(self, username: str) -> Lockout | None:
        """The lock-out in force for this username or the request's address, if any."""
        for by_account, item, key in self._counters(username):
            if not self._window.test(item, *key):
                reset_at = self._window.get_window_stats(item, *key).reset_time
                return Lockout(by_account=by_account, retry_after=max(1, math.ceil(reset_at - time.time())))
        return None

    def count_failure(self, username: str) -> None:
        """One more failed login for this username and the request's address."""
        for _, item, key in self._counters(username):
            self._window.hit(item, *key)

    def _counters(self, username: str) -> list[tuple[bool, RateLimitItem, tuple[str, str]]]:
        # request.remote_addr is the proxy's X-Forwarded-For under IVR_TRUST_PROXY (ProxyFix)
        return [
            (True, self._per_account, ("login-account", username[:100])),
            (False, self._per_address, ("login-address", request.remote_addr or "unknown")),
        ]


def init_login_limits(app: Flask, settings: Settings) -> None:
    """Keep the app's login counters (one set per app, so tests and apps never share counts)."""
    app.extensions["login_limits"] = LoginLimits(settings)


def login_limits() -> LoginLimits:
    """The current app's login counters."""
    limits: LoginLimits = current_app.extensions["login_limits"]
    return limits
