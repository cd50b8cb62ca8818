"""What the satisfaction report's templates are given, the page's and the file's alike: figures, charts."""

from __future__ import annotations

from typing import Any

from ivr.surveys.report import (
    TARGET_PERCENT,
    TOP_BOX,
    SatisfactionReport,
    mean_text,
    rate_text,
    satisfaction_text,
)
from ivr.surveys.report_charts import report_charts


def page_context(built: SatisfactionReport, *, standalone: bool = False) -> dict[str, Any]:
    """What the page and the standalone file need."""
    labels = built.service_type_labels
    return {
        "report": built,
        "charts": report_charts(built),
        "standalone": standalone,
        "type_label": lambda key: labels.get(key, key),
        "TARGET": TARGET_PERCENT,
        "TOP_BOX": TOP_BOX,
        "mean": mean_text,
        "rate": rate_text,
        "satisfaction": satisfaction_text,
    }
