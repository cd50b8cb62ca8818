"""How the work orders' pages name things, as ivr/web/labels.py does for the other pages.

Classes, stages, history events, answer channels and urgency, Chinese first, English after."""

from __future__ import annotations

from ivr.web.labels import STAGE_LABELS, WORK_CLASS_LABELS

# One naming for every page: the agent page, the board and the reports use the same tables.
CLASS_LABELS = WORK_CLASS_LABELS

EVENT_LABELS = {
    "opened": "受理 / Opened",
    "moved": "变更阶段 / Moved",
    "handed_over": "转派 / Handed over",
    "accepted": "接单 / Accepted",
    "note": "备注 / Note",
    "field_result": "处理结果 / Field result",
    "answered": "答复客户 / Customer answered",
    "closed": "关闭 / Closed",
    "reopened": "重开 / Reopened",
    "answer_call": "点击回拨 / Click-to-call placed",
    "answer_call_status": "回拨状态 / Click-to-call status",
    # the deadline sweep (escalation.py)
    "warned": "临近时限，已提醒负责人 / Deadline near: owner warned",
    "escalated": "超过时限，已升级值班长 / Deadline passed: escalated to the shift lead",
    "escalated_to_supervisor": "超过第二时限，已升级主管 / Second bound passed: escalated to the supervisor",
    "duty_engineer_called": "已致电值班工程师 / Duty engineer called",
    "duty_call_failed": "致电值班工程师失败，稍后重试 / Duty engineer call failed, will retry",
}

CHANNEL_LABELS = {
    "phone": "电话 / Phone",
    "sms": "短信 / SMS",
    "visit": "上门 / In person",
    "letter": "信函 / Letter",
    "email": "电子邮件 / Email",
    "other": "其他 / Other",
}

URGENCY_LABELS = {
    "overdue": "已超时 / Overdue",
    "warning": "即将超时 / Past warning",
    "on_time": "未超时 / On time",
    "no_deadline": "无时限 / No deadline",
}

ESCALATION_LABELS = {
    "": "",
    "warned": "已提醒 / Warned",
    "escalated": "已升级值班长 / Escalated to shift lead",
    "supervisor": "已升级主管 / Escalated to supervisor",
}

DESK_LABELS = {
    "business": "业务组 / Business",
    "complaints": "投诉组 / Complaints",
    "field_crew": "现场班组 / Field crew",
    "safety": "安全值班 / Safety",
    "_none": "未转派 / Not at a desk yet",
}

DEADLINE_LABELS = {
    "handover": "转派 / Hand-over",
    "on_site": "到场 / On site",
    "result": "处理结果 / Result",
    "answer": "答复客户 / Answer",
    "follow_up": "回访 / Follow-up call",
}

PAGE_LABELS = {
    "CLASS_LABELS": CLASS_LABELS,
    "STAGE_LABELS": STAGE_LABELS,
    "EVENT_LABELS": EVENT_LABELS,
    "CHANNEL_LABELS": CHANNEL_LABELS,
    "URGENCY_LABELS": URGENCY_LABELS,
    "ESCALATION_LABELS": ESCALATION_LABELS,
    "DESK_LABELS": DESK_LABELS,
    "DEADLINE_LABELS": DEADLINE_LABELS,
}
