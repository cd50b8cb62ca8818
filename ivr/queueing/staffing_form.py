"""The staffing calculator's form: the figures given (kept for redisplay), as numbers, with every problem."""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from ivr.quality.answering import SERVICE_LEVEL_SECONDS, SERVICE_LEVEL_TARGET
from ivr.queueing.staffing import HALF_HOURS, SHRINKAGE_PERCENT, half_hour_labels
from ivr.web.labels import DayError, parse_day


class StaffingInput:
    """The staffing form as given (strings kept for redisplay) and as numbers, with every problem found."""

    def __init__(self, args: MultiDict[str, str], today: date, default_handle: int):
        self.args = args
        self.errors: list[str] = []
        self.bad: set[str] = set()  # fields whose text is shown again as typed
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
        self.shrinkage = self._number(
            "shrinkage", args.get("shrinkage"), SHRINKAGE_PERCENT, 0, 90, "缩减率 / shrinkage"
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
            return parse_day(text, "日期 / the day")
        except DayError as error:
            self.bad.add("day")
            self.errors.append(str(error))
            return today

    def _number(
        self, name: str, text: str | None, default: float, low: float, high: float, what: str
    ) -> float:
        if text is None or not text.strip():
            return default
        try:
            value = float(text.strip())
        except ValueError:
            self.bad.add(name)
            self.errors.append(f"{what}：应为数字 / must be a number, not {text!r}")
            return default
        if not low <= value <= high or value != value:
            self.bad.add(name)
            self.errors.append(
                f"{what}：应在 {low:g} 到 {high:g} 之间 / must be from {low:g} to {high:g}, not {value:g}"
            )
            return default
        return value

    def shown(self, name: str) -> str:
        """A field's value for the form: as typed when it was wrong, else the number in use."""
        if name in self.bad:
            return self.args.get(name, "")
        value = getattr(self, name)
        if value is None:
            return ""
        return f"{value:g}" if isinstance(value, float) else str(value)

    def use_history(self, calls: list[float], handle_seconds: float | None) -> None:
        """Take the expected calls (and the handling time, when calls were answered) from history."""
        self.calls = calls
        if handle_seconds is not None and "handle" not in self.bad:
            self.handle = float(round(handle_seconds))

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
