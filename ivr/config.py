"""Settings from the environment (IVR_*, DATABASE_URL, TWILIO_*), with safe development defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

INSTANCE_DIR = Path(os.environ.get("IVR_INSTANCE_DIR", Path.cwd() / "instance"))
DEV_AUTH_TOKEN = "dev-auth-token-not-secret"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default).strip() or default


@dataclass(frozen=True)
class Settings:
    """Everything an operator can set; see README.md for each variable."""

    database_url: str = f"sqlite:///{INSTANCE_DIR / 'hotline.db'}"
    public_base_url: str = ""  # e.g. https://hotline.example.com; empty: the URL the request came to
    trust_proxy: bool = False  # honour X-Forwarded-* from one proxy (Werkzeug ProxyFix)
    twilio_account_sid: str = ""
    twilio_auth_token: str = DEV_AUTH_TOKEN
    twilio_api_base_url: str = ""  # a Twilio-compatible REST server instead of api.twilio.com
    telephony: str = "simulator"  # "twilio" with real credentials
    # Where the built-in simulator sends the webhooks of the calls a served hotline places (`serve` sets it
    # to its own address; docs/recordings.md); empty: http://127.0.0.1:5000
    simulator_webhook_url: str = ""
    # Simulator mode: terminal phones (`run.py call --url`) may attach, so the server can reach their calls.
    simulator_phones: bool = False
    duty_engineer_number: str = "+8613900000000"  # the gas emergency duty line: the last resort
    safety_queue_max_wait: int = 60  # seconds a safety caller waits before the duty engineer is dialled
    queue_announce_seconds: int = 30  # how often a waiting caller hears their position
    spool_dir: Path = INSTANCE_DIR / "spool"
    spool_replay_seconds: int = 10
    scheduler_in_process: bool = True
    # Wrap-up ends only once the agent has recorded what the call was about (issue 16). Off only for
    # simulated agents that keep no notes (the storm benchmark).
    wrap_up_needs_disposition: bool = True
    voices: dict[str, str] = field(default_factory=dict)  # language -> voice, overrides the catalogue's
    say_languages: dict[str, str] = field(default_factory=dict)  # language -> <Say language=...>
    local_timezone: str = "Asia/Shanghai"
    default_language: str = "zh-CN"  # for a failure before the menu is known
    hotline_number: str = "+864008888888"  # the caller ID of call-backs
    agent_ring_seconds: int = 20  # how long an agent's phone rings before the offer counts as missed
    max_missed_offers: int = 2  # missed offers in a row before an agent goes to break "not answering"
    stale_claim_seconds: int = 90  # a ringing agent or offered caller with no outcome by then is released
    callback_offer_seconds: int = 180  # estimated wait above which a caller is offered a call-back
    storm_offer_seconds: int = 60  # storm mode: estimated wait above which a call-back or message is offered
    default_handle_seconds: int = 180  # handling time assumed before there is history
    dispatch_seconds: float = 1.0  # how often the dispatcher pairs waiting callers with free agents
    retention_days: int = 800  # records and recordings are kept at least 2 years (never under 730 days)
    audit_rate: float = 0.10  # share of a day's recorded calls in the audit sample (never under 10%)
    audit_time: str = "00:30"  # local time the daily sample of the previous day is drawn
    recordings_dir: Path = INSTANCE_DIR / "recordings"  # local copies (the simulator's recordings)
    # Delete Twilio's copy of a recording once the local copy is fetched and verified (and at retention).
    delete_twilio_recordings: bool = False
    max_request_bytes: int = 64 * 1024
    callback_window: str = "09:00-20:00"  # local hours satisfaction call-backs are placed in [start, end)
    callback_holidays: tuple[date, ...] = ()  # local dates no call-back is placed on
    outbound_cps: float = 1.0  # call-back placements per second (per scheduler process)
    callback_stale_minutes: int = 10  # a call-back claimed this long ago without a CallSid is queued again
    # All of one webhook's database work waits this long at most (ivr/db/deadline.py): the caller hears the
    # answer within 1 s whatever the database does, and a hiccup of a few hundred ms is not yet a failure.
    webhook_db_budget: float = 0.8
    session_idle_minutes: int = 30  # a console login unused this long is over (docs/users.md)
    login_lockout_account: str = "5 per 15 minutes"  # failed logins of one username before it is locked
    login_lockout_address: str = "20 per 15 minutes"  # failed logins from one address before it is locked
    ratelimit_storage_uri: str = "memory://"  # shared storage (e.g. redis://) when several workers serve
    api_token_days: int = 90  # a new API token expires after this many days
    work_order_webhook_url: str = ""  # where work-order events are posted (docs/work-orders.md); empty: kept
    work_order_webhook_secret: str = ""  # the shared secret of their HMAC-SHA256 signature
    # `run.py serve` under gunicorn (docs/operations.md "Overload"): sized for a 2-core machine
    web_workers: int = 2  # worker processes (one per core; the scheduler is a third process)
    web_threads: int = 32  # per worker: above the in-flight limit, half of the rest wait, half turn away
    web_backlog: int = 128  # connections waiting in the kernel for a worker to accept them
    web_max_in_flight: int = 6  # webhooks worked on at once per worker; past it new calls/waits are shed
    web_max_request_age: float = 10.0  # seconds since a proxy's X-Request-Start: older ones are shed
    web_admit_wait: float = 0.25  # seconds a new call or wait past the limit may wait for a place, then shed

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings changed (tests, CLI options)."""
        return replace(self, **changes)


def _language_map(prefix: str) -> dict[str, str]:
    """IVR_VOICE_ZH_CN=Polly.Zhiyu-Neural -> {"zh-CN": "Polly.Zhiyu-Neural"}."""
    found: dict[str, str] = {}
    for name, value in os.environ.items():
        if name.startswith(prefix) and value.strip():
            lang, _, region = name[len(prefix) :].partition("_")
            found[f"{lang.lower()}-{region.upper()}"] = value.strip()
    return found


def load_settings() -> Settings:
    """Read the settings from the environment."""
    defaults = Settings()
    token = os.environ.get("TWILIO_AUTH_TOKEN", "").strip()
    return Settings(
        database_url=_env("DATABASE_URL", defaults.database_url),
        public_base_url=_env("IVR_PUBLIC_BASE_URL", "").rstrip("/"),
        trust_proxy=_env("IVR_TRUST_PROXY", "0") in ("1", "true", "yes"),
        twilio_account_sid=_env("TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=token or DEV_AUTH_TOKEN,
        twilio_api_base_url=_env("TWILIO_API_BASE_URL", ""),
        telephony=_env("IVR_TELEPHONY", "twilio" if token else "simulator"),
        simulator_webhook_url=_env("IVR_SIMULATOR_WEBHOOK_URL", "").rstrip("/"),
        simulator_phones=_env("IVR_SIMULATOR_PHONES", "0") in ("1", "true", "yes"),
        duty_engineer_number=_env("IVR_DUTY_ENGINEER_NUMBER", defaults.duty_engineer_number),
        safety_queue_max_wait=int(_env("IVR_SAFETY_QUEUE_MAX_WAIT", str(defaults.safety_queue_max_wait))),
        # A waiting caller hears from us every 30-60 s: shorter nags, longer feels forgotten.
        queue_announce_seconds=min(
            60, max(30, int(_env("IVR_QUEUE_ANNOUNCE_SECONDS", str(defaults.queue_announce_seconds))))
        ),
        spool_dir=Path(_env("IVR_SPOOL_DIR", str(defaults.spool_dir))),
        spool_replay_seconds=int(_env("IVR_SPOOL_REPLAY_SECONDS", str(defaults.spool_replay_seconds))),
        # kept under 0.9 s so the 1 s promise holds
        webhook_db_budget=min(0.9, max(0.1, float(_env("IVR_WEBHOOK_DB_BUDGET", "0.8")))),
        scheduler_in_process=_env("IVR_SCHEDULER_IN_PROCESS", "1") in ("1", "true", "yes"),
        wrap_up_needs_disposition=_env("IVR_WRAP_UP_NEEDS_DISPOSITION", "1") in ("1", "true", "yes"),
        voices=_language_map("IVR_VOICE_"),
        say_languages=_language_map("IVR_SAY_LANGUAGE_"),
        local_timezone=_env("IVR_TIMEZONE", defaults.local_timezone),
        hotline_number=_env("IVR_HOTLINE_NUMBER", defaults.hotline_number),
        agent_ring_seconds=int(_env("IVR_AGENT_RING_SECONDS", str(defaults.agent_ring_seconds))),
        max_missed_offers=int(_env("IVR_MAX_MISSED_OFFERS", str(defaults.max_missed_offers))),
        stale_claim_seconds=int(_env("IVR_STALE_CLAIM_SECONDS", str(defaults.stale_claim_seconds))),
        callback_offer_seconds=int(_env("IVR_CALLBACK_OFFER_SECONDS", str(defaults.callback_offer_seconds))),
        storm_offer_seconds=int(_env("IVR_STORM_OFFER_SECONDS", str(defaults.storm_offer_seconds))),
        default_handle_seconds=int(_env("IVR_DEFAULT_HANDLE_SECONDS", str(defaults.default_handle_seconds))),
        dispatch_seconds=float(_env("IVR_DISPATCH_SECONDS", str(defaults.dispatch_seconds))),
        # The DOMAIN floors are enforced here, so no setting can go under them.
        retention_days=max(730, int(_env("IVR_RETENTION_DAYS", str(defaults.retention_days)))),
        audit_rate=max(0.10, float(_env("IVR_AUDIT_RATE", str(defaults.audit_rate)))),
        audit_time=_env("IVR_AUDIT_TIME", defaults.audit_time),
        recordings_dir=Path(_env("IVR_RECORDINGS_DIR", str(defaults.recordings_dir))),
        delete_twilio_recordings=_env("IVR_DELETE_TWILIO_RECORDINGS", "0") in ("1", "true", "yes"),
        callback_window=_env("IVR_CALLBACK_WINDOW", defaults.callback_window),
        callback_holidays=_holidays(_env("IVR_CALLBACK_HOLIDAYS", "")),
        outbound_cps=max(0.01, float(_env("IVR_OUTBOUND_CPS", str(defaults.outbound_cps)))),
        callback_stale_minutes=max(
            1, int(_env("IVR_CALLBACK_STALE_MINUTES", str(defaults.callback_stale_minutes)))
        ),
        session_idle_minutes=max(
            1, int(_env("IVR_SESSION_IDLE_MINUTES", str(defaults.session_idle_minutes)))
        ),
        login_lockout_account=_env("IVR_LOGIN_LOCKOUT_ACCOUNT", defaults.login_lockout_account),
        login_lockout_address=_env("IVR_LOGIN_LOCKOUT_ADDRESS", defaults.login_lockout_address),
        ratelimit_storage_uri=_env("IVR_RATELIMIT_STORAGE_URI", defaults.ratelimit_storage_uri),
        api_token_days=max(1, int(_env("IVR_API_TOKEN_DAYS", str(defaults.api_token_days)))),
        work_order_webhook_url=_env("IVR_WORK_ORDER_WEBHOOK_URL", ""),
        work_order_webhook_secret=_env("IVR_WORK_ORDER_WEBHOOK_SECRET", ""),
        web_workers=max(1, int(_env("IVR_WEB_WORKERS", str(defaults.web_workers)))),
        web_threads=max(1, int(_env("IVR_WEB_THREADS", str(defaults.web_threads)))),
        web_backlog=max(1, int(_env("IVR_WEB_BACKLOG", str(defaults.web_backlog)))),
        web_max_in_flight=max(0, int(_env("IVR_WEB_MAX_IN_FLIGHT", str(defaults.web_max_in_flight)))),
        web_max_request_age=float(_env("IVR_WEB_MAX_REQUEST_AGE", str(defaults.web_max_request_age))),
        web_admit_wait=max(0.0, float(_env("IVR_WEB_ADMIT_WAIT", str(defaults.web_admit_wait)))),
    )


def _holidays(text: str) -> tuple[date, ...]:
    """IVR_CALLBACK_HOLIDAYS="2026-10-01,2026-10-02" -> the dates, sorted."""
    return tuple(sorted({date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()}))


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "")


def development_token_problems(settings: Settings, listen_host: str | None = None) -> list[str]:
    """Why these settings must not run with the development auth token, which anyone can read in the code.

    Twilio can reach the server (so could anyone forging its signature with that token) when it places
    calls through Twilio, knows its account, has a public address, or listens beyond this machine.
    """
    if settings.twilio_auth_token != DEV_AUTH_TOKEN:
        return []
    reasons = reachable_reasons(settings, listen_host)
    if not reasons:
        return []
    return [
        f"TWILIO_AUTH_TOKEN is not set ({', '.join(reasons)}): set it to the account's auth token; "
        "the development token is public, so anyone could forge Twilio's webhooks"
    ]


def reachable_reasons(settings: Settings, listen_host: str | None = None) -> list[str]:
    """What makes this server reachable from beyond this machine, in words (none: loopback only)."""
    reasons = []
    if settings.telephony == "twilio":
        reasons.append("IVR_TELEPHONY=twilio")
    if settings.twilio_account_sid:
        reasons.append("TWILIO_ACCOUNT_SID is set")
    public_host = urlsplit(settings.public_base_url).hostname or ""
    if settings.public_base_url and not _is_loopback(public_host):
        reasons.append(f"IVR_PUBLIC_BASE_URL is {settings.public_base_url}")
    if listen_host is not None and not _is_loopback(listen_host):
        reasons.append(f"it listens on {listen_host}")
    return reasons


def _is_loopback(host: str) -> bool:
    return host in _LOOPBACK_HOSTS or host.startswith("127.")
