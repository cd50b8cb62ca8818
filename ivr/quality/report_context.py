"""What the quality report's templates are given, the page's and the file's alike: figures, charts, labels."""

from __future__ import annotations

from typing import Any

from ivr.quality.answering import SERVICE_LEVEL_SECONDS, SERVICE_LEVEL_TARGET
from ivr.quality.report import AUDIT_COVERAGE_TARGET, COMPLAINT_CLOSURE_TARGET, QualityReport
from ivr.quality.report_charts import report_charts
from ivr.quality.report_labels import (
    COMPLAINT_LABELS,
    DEADLINE_KIND_LABELS,
    INTENT_LABELS,
    QUEUE_RESULT_LABELS,
)
from ivr.web.figures import number, percent
from ivr.web.labels import WORK_CLASS_LABELS, label


def page_context(report: QualityReport) -> dict[str, Any]:
    """What both templates (the page and the standalone file) need."""
    return {
        "report": report,
        "charts": report_charts(report),
        "intent_label": lambda key: label(INTENT_LABELS, key),
        "complaint_label": lambda key: label(COMPLAINT_LABELS, key),
        "deadline_label": lambda key: label(DEADLINE_KIND_LABELS, key),
        "class_label": lambda key: label(WORK_CLASS_LABELS, key),
        "QUEUE_RESULT_LABELS": QUEUE_RESULT_LABELS,
        "SL_SECONDS": SERVICE_LEVEL_SECONDS,
        "SL_TARGET": SERVICE_LEVEL_TARGET,
        "COVERAGE_TARGET": AUDIT_COVERAGE_TARGET,
        "CLOSURE_TARGET": COMPLAINT_CLOSURE_TARGET,
        "percent": percent,
        "number": number,
    }
