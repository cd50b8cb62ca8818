"""Which telephony adapter a hotline uses, from its settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.config import Settings
from ivr.telephony.base import Telephony

if TYPE_CHECKING:
    from ivr.telephony.attached import Attachments


def build_telephony(settings: Settings) -> Telephony | None:
    """Twilio's REST client for IVR_TELEPHONY=twilio. For the simulator: the terminal phones' REST APIs
    when IVR_SIMULATOR_PHONES is on (`make run`), else None (a test's simulator attaches its own)."""
    if settings.telephony != "twilio":
        return attached_phones(settings) if settings.simulator_phones else None
    from ivr.telephony.twilio_rest import TwilioTelephony

    return TwilioTelephony(
        settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base_url or None
    )


def telephony_problems(settings: Settings) -> list[str]:
    """Settings that would make REST calls to Twilio fail, in words."""
    if settings.telephony not in ("twilio", "simulator"):
        return [f"IVR_TELEPHONY must be 'twilio' or 'simulator', not {settings.telephony!r}"]
    problems = []
    if settings.telephony == "twilio" and not settings.twilio_account_sid.startswith("AC"):
        problems.append("IVR_TELEPHONY=twilio needs TWILIO_ACCOUNT_SID (it starts with AC)")
    if settings.telephony == "twilio" and not settings.public_base_url:
        # Redirects and call-backs hand Twilio absolute URLs of this server: it must know its public address.
        problems.append("IVR_TELEPHONY=twilio needs IVR_PUBLIC_BASE_URL (e.g. https://hotline.example.com)")
    return problems


def attached_phones(settings: Settings) -> Telephony:
    """The calls of terminal phones attached to this server (`run.py call --url`), through their REST APIs."""
    from ivr.telephony.attached import AttachedPhonesTelephony

    return AttachedPhonesTelephony(phone_attachments(settings), settings.twilio_auth_token)


def phone_attachments(settings: Settings) -> Attachments:
    """Where every process of this server finds the attached phones: beside the spool."""
    from ivr.telephony.attached import Attachments

    return Attachments(settings.spool_dir.parent / "phones")
