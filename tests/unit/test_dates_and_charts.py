"""Times shown in the centre's zone as ISO text, date fields read strictly, empty charts as one calm line,
and shrinkage added to the agents Erlang C needs."""

from __future__ import annotations

from datetime import date, datetime

import pygal
import pytest

from ivr.queueing.staffing import agents_to_schedule
from ivr.web.charts import NO_DATA, bar_chart, chart_svg, make_chart
from ivr.web.labels import DayError, local_time, parse_day


def test_local_time_is_iso_24_hour_in_the_centres_zone():
    moment = datetime(2026, 3, 10, 6, 5, 9)  # naive UTC
    assert local_time(moment, "Asia/Shanghai") == "2026-03-10 14:05:09"
    assert local_time(moment, "Asia/Shanghai", seconds=False) == "2026-03-10 14:05"
    assert local_time("2026-03-10T18:30:00Z", "Asia/Shanghai", seconds=False) == "2026-03-11 02:30"
    assert local_time(None, "Asia/Shanghai") == "—"


@pytest.mark.parametrize(
    "typed", ["03/10/2026", "10.03.2026", "20260310", "2026-3-10", "2026-02-30", "", "x"]
)
def test_a_date_field_takes_only_yyyy_mm_dd(typed):
    with pytest.raises(DayError, match=r"must be YYYY-MM-DD, e\.g\. 2026-03-10"):
        parse_day(typed, "开始日期 / the start")
    assert parse_day(" 2026-03-10 ") == date(2026, 3, 10)


def test_an_empty_chart_is_one_line_in_a_box_of_the_charts_size():
    chart = make_chart(pygal.Bar, "每日来电 / Calls per day", width=640, height=320)
    empty = bar_chart(chart, ["1", "2"], [0, 0])
    assert "<svg" not in empty and empty.count(NO_DATA) == 2  # the note, and the label read aloud
    assert 'class="chart-empty"' in empty and "width:640px" in empty and "aspect-ratio:640/320" in empty
    assert "white-space:nowrap" in empty and "每日来电 / Calls per day" in empty
    chart = make_chart(pygal.StackedBar, "投诉 <及> 时限")
    assert 'class="chart-empty"' in chart_svg(chart, has_data=False)
    assert "投诉 &lt;及&gt; 时限" in chart_svg(chart, has_data=False)  # the title escaped
    drawn = bar_chart(make_chart(pygal.Bar, "每日来电 / Calls per day"), ["1", "2"], [3, 0])
    assert "<svg" in drawn and "chart-empty" not in drawn and NO_DATA not in drawn


@pytest.mark.parametrize(
    ("needed", "shrinkage", "scheduled"),
    [(0, 30, 0), (7, 30, 10), (14, 30, 20), (4, 30, 6), (4, 50, 8), (5, 0, 5), (1, 35, 2), (3, 90, 30)],
)
def test_agents_to_schedule_add_the_shrinkage(needed, shrinkage, scheduled):
    assert agents_to_schedule(needed, shrinkage) == scheduled
