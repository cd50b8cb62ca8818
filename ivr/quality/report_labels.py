"""The quality report's bilingual labels: call intents, complaint classes, what became of a queued call."""

from __future__ import annotations

from ivr.quality.answering import ABANDONED, ANSWERED, CALLBACK, DUTY, OTHER
from ivr.quality.report import NO_INTENT, UNCLASSIFIED
from ivr.web.labels import INTENTS

INTENT_LABELS = {**INTENTS, NO_INTENT: "未选择 / None chosen"}
COMPLAINT_LABELS = {
    "service": "服务 / Service",
    "quality": "质量 / Quality",
    "safety": "安全 / Safety",
    UNCLASSIFIED: "未分类 / Unclassified",
}
QUEUE_RESULT_LABELS = {
    ANSWERED: "坐席接听 / Answered by an agent",
    ABANDONED: "放弃 / Abandoned (caller hung up)",
    CALLBACK: "改为回电 / Call-back instead",
    DUTY: "转值班工程师 / To the duty engineer",
    OTHER: "其他 / Other",
}
DEADLINE_KIND_LABELS = {  # the deadline rules' kinds (ivr/work_orders/deadline_rules.py KINDS)
    "handover": "移交 / Hand-over",
    "on_site": "到场 / On site",
    "result": "处理结果 / Result",
    "answer": "答复客户 / Answer",
    "follow_up": "回访 / Follow-up call",
    "all": "全部 / All",
}
