"""How values are shown on the pages: bilingual labels (Chinese first, English after), local times.

Dates and times, everywhere: the centre's time zone (settings.local_timezone), ISO order, 24-hour clock.
- Showing: `{{ moment|local_time }}` gives 2026-03-10 08:30:05; `|local_time(seconds=False)` 2026-03-10 08:30
  (where seconds say nothing). Never strftime in a template, never a US or browser-locale format.
- Asking: the macros of ivr/web/templates/admin/fields.html, `date_input` (YYYY-MM-DD), `month_input`
  (YYYY-MM) and `datetime_input` (YYYY-MM-DD HH:MM), text inputs with a pattern and a placeholder, instead
  of <input type="date|month|datetime-local">, which the browser draws in its own locale (mm/dd/yyyy).
  On the server, `parse_day` reads a date field and says what was wrong in both languages.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

ROLE_LABELS = {
    "admin": "管理员 / Admin",
    "supervisor": "主管 / Supervisor",
    "shift_lead": "值班长 / Shift lead",
    "quality": "质检 / Quality",
    "agent": "坐席 / Agent",
}

STATE_LABELS = {
    "available": "空闲 / Available",
    "ringing": "振铃 / Ringing",
    "on_call": "通话中 / On a call",
    "wrap_up": "话后整理 / Wrap-up",
    "break": "小休 / Break",
    "offline": "离线 / Offline",
}

INTENTS = {
    "billing": "账单 / Billing",
    "safety": "燃气安全 / Gas safety",
    "repair": "报修 / Repair",
    "complaint": "投诉 / Complaint",
    "agent": "人工 / Agent",
}

LANGUAGES = {"zh-CN": "中文 / Chinese", "en-US": "英语 / English"}

WORK_ORDER_KINDS = {
    "gas_leak": "燃气泄漏 / Gas leak",
    "fault": "故障 / Fault",
    "meter_fault": "表具故障 / Meter fault",
    "installation": "安装 / Installation",
}

WORK_ORDER_STATUSES = {
    "open": "待派 / Open",
    "dispatched": "已派 / Dispatched",
    "completed": "已完成 / Completed",
}

WORK_CLASS_LABELS = {  # ivr/work_orders/lifecycle.py WORK_CLASSES
    "enquiry": "咨询待答复 / Enquiry owed an answer",
    "fault_repair": "故障报修 / Fault repair",
    "meter_fault": "表具故障 / Meter fault",
    "gas_leak": "燃气泄漏 / Gas leak",
    "service_complaint": "服务投诉 / Service complaint",
    "quality_complaint": "质量投诉 / Quality complaint",
    "safety_complaint": "安全投诉 / Safety complaint",
    "account_business": "账户业务 / Account business",
    "installation": "安装 / Installation",
}

STAGE_LABELS = {  # ivr/work_orders/lifecycle.py STAGES; the words a service centre uses for each
    "opened": "已受理 / Opened",
    "handed_over": "已转派 / Handed over",
    "accepted": "已接单 / Accepted",
    "in_progress": "处理中 / In progress",
    "handled": "已处理 / Handled",
    "answered": "已答复 / Answered",
    "closed": "已关闭 / Closed",
    "reopened": "已重开 / Reopened",
}

DISPOSITION_OUTCOMES = {  # ivr/queueing/dispositions.py OUTCOMES
    "answered": "通话中已解答 / Answered on the call",
    "opened": "开立工单 / Work order opened",
    "attached": "关联已有工单 / Attached to an existing order",
    "transferred": "已转接 / Transferred",
    "no_action": "无需处理 / No action",
}


def label(table: dict[str, str], key: str | None) -> str:
    """The label of `key`, or the key itself for a value added after this table."""
    return table.get(key or "", key or "")


def local_time(value: str | datetime | None, timezone: str, *, seconds: bool = True) -> str:
    """A naive-UTC time (or its ISO text) in the hotline's time zone: YYYY-MM-DD HH:MM[:SS], 24-hour."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value.removesuffix("Z")) if isinstance(value, str) else value
    shown = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).strftime(shown)


class DayError(ValueError):
    """A date field that is not YYYY-MM-DD; its text says so to the person who typed it."""


def parse_day(text: str | None, what: str = "日期 / date") -> date:
    """A date typed as YYYY-MM-DD (a `date_input` field): the date, or DayError saying the format."""
    given = (text or "").strip()
    try:
        if len(given) != 10:  # fromisoformat would also take 20260310 and 2026-W11-2
            raise ValueError(given)
        return date.fromisoformat(given)
    except ValueError:
        raise DayError(
            f"{what}：格式应为 YYYY-MM-DD，例如 2026-03-10 / {what.split(' / ')[-1]} must be YYYY-MM-DD, "
            f"e.g. 2026-03-10 (not {given!r})"
        ) from None
