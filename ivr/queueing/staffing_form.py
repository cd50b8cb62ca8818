"""The staffing calculator's form: the figures given (kept for redisplay), as numbers, with every problem."""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from ivr.quality.answering import SERVICE_LEVEL_SECONDS, SERVICE_LEVEL_TARGET
from ivr.queueing.staffing import HALF_HOURS, half_hour_labels


class StaffingInput:
    """The staffing form as given (strings kept for redisplay) and as numbers, with every problem found."""

    def __init__(self, args: MultiDict[str, str], today: date, default_handle: int):
        self.args = args
        self.errors: list[str] = []
        self.day = self._day(args.get("day"), today)
        self.handle = self._number(
            "handle", args.get("handle"), default_handle, 1, 36_000, "处理时长 / handling time"
        )
        self.target = self._number(
            "target", args.get("target"), SERVICE_LEVEL_TARGET * 100, 1, 99.9, "目标 / target level"
        )
        self.within = self._number(
            "within", args.get("within"), SERVICE_LEVEL_SECONDS, 0, 3600, "应答秒数 / answer within"
        )
        occupancy = (args.get("max_occupancy") or "").strip()
        self.max_occupancy = (
            self._number("max_occupancy", occupancy, 0, 1, 100, "最高占用率 / maximum occupancy")
            if occupancy
            else None
        )
        self.given = any(f"c{n}" in args for n in range(HALF_HOURS))
        self.calls = [
            self._number(f"c{n}", args.get(f"c{n}"), 0, 0, 100_000, f"{label_} 来电 / calls")
            for n, label_ in enumerate(half_hour_labels())
        ]

    def _day(self, text: str | None, today: date) -> date:
        if not (text or "").strip():
            return today
        try:
            return date.fromisoformat((text or "").strip())
        except ValueError:
            self.errors.append(f"日期格式应为 YYYY-MM-DD / the day must be YYYY-MM-DD, not {text!r}")
            return today

    def _number(
        self, name: str, text: str | None, default: float, low: float, high: float, what: str
    ) -> float:
        if text is None or not text.strip():
            return default
        try:
            value = float(text.strip())
        except ValueError:
            self.errors.append(f"{what}：应为数字 / must be a number, not {text!r}")
            return default
        if not low <= value <= high or value != value:
            self.errors.append(
                f"{what}：应在 {low:g} 到 {high:g} 之间 / must be from {low:g} to {high:g}, not {value:g}"
            )
            return default
        return value

    def apply_range(self) -> None:
        """The "one figure for a range" part of the form: set the half hours from..to (inclusive) to it."""
        labels = half_hour_labels()
        first, last = self.args.get("fill_from", ""), self.args.get("fill_to", "")
        if first not in labels or last not in labels:
            self.errors.append("请选择时段的起止 / choose the first and last half hour of the range")
            return
        if labels.index(first) > labels.index(last):
            self.errors.append(f"时段起点晚于终点 / the range starts ({first}) after it ends ({last})")
            return
        figure = self._number(
            "fill_calls", self.args.get("fill_calls"), -1, 0, 100_000, "时段来电 / calls for the range"
        )
        if figure < 0:
            if not self.errors:
                self.errors.append(
                    "请填写该时段每半小时的来电数 / give the calls per half hour for the range"
                )
            return
        for slot in range(labels.index(first), labels.index(last) + 1):
            self.calls[slot] = figure
