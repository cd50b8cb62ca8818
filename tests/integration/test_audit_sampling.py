"""The daily audit sample on a real database: the local day, storing once, racing schedulers, job, CLI."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from ivr.db.models import Agent, AuditItem, AuditSample, Call, Recording, utcnow
from ivr.jobs.scheduler import build_scheduler, draw_audit_samples
from ivr.jobs.tasks import audit_status, draw_due_samples, draw_sample, verify_sample
from ivr.quality import audit_sampling
from ivr.quality.audit_sampling import (
    AuditOptions,
    AuditRefused,
    load_candidates,
    local_day_bounds,
    previous_local_day,
)
from ivr.quality.sample_sizes import draw
from run import cli

DAY = date(2025, 3, 10)  # a local (Asia/Shanghai, UTC+8) day: 2025-03-09 16:00 to 2025-03-10 16:00 UTC
DAY_START = datetime(2025, 3, 9, 16, 0)
LATER = datetime(2025, 3, 12, 0, 0)  # "now" for the draws: the day is over
_sids = itertools.count(1)
_identities = itertools.count(1)


def add_agents(hotline, count: int) -> list[int]:
    with hotline.sessions() as session, session.begin():
        agents = [
            Agent(name=f"Audit agent {i}", client_identity=f"audit-{next(_identities)}") for i in range(count)
        ]
        session.add_all(agents)
        session.flush()
        return [agent.id for agent in agents]


def record(
    hotline,
    agent_id: int | None,
    started_at: datetime,
    *,
    duration: int = 120,
    intent: str | None = "billing",
    emergency: bool = False,
    status: str = "completed",
) -> int:
    """One answered call and its recording, as the recording webhook leaves them."""
    sid = f"CAaudit{next(_sids):026d}"
    with hotline.sessions() as session, session.begin():
        session.add(Call(call_sid=sid, started_at=started_at, intent=intent, emergency=emergency))
        recording = Recording(
            recording_sid=f"RE{sid[2:]}",
            call_sid=sid,
            agent_id=agent_id,
            duration_seconds=duration,
            status=status,
            started_at=started_at,
        )
        session.add(recording)
        session.flush()
        return recording.id


def busy_day(hotline, per_agent: list[int], day_start: datetime = DAY_START) -> list[int]:
    """Agents with the given numbers of recorded calls, spread over the local day."""
    agents = add_agents(hotline, len(per_agent))
    for agent, count in zip(agents, per_agent, strict=True):
        for i in range(count):
            record(hotline, agent, day_start + timedelta(minutes=7 * i + agent % 5))
    return agents


def options(hotline, **changes) -> AuditOptions:
    return AuditOptions.from_settings(hotline.settings, **changes)


def samples(hotline) -> int:
    with hotline.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditSample)) or 0


# ---------------------------------------------------------------- the day and its recordings


def test_the_local_day_is_converted_to_utc_bounds():
    assert local_day_bounds(DAY, "Asia/Shanghai") == (DAY_START, DAY_START + timedelta(days=1))
    # where clocks change, the day is 23 hours long
    start, end = local_day_bounds(date(2025, 3, 30), "Europe/Berlin")
    assert (start, end - start) == (datetime(2025, 3, 29, 23, 0), timedelta(hours=23))


def test_only_completed_recordings_of_the_local_day_are_candidates(hotline):
    [agent] = add_agents(hotline, 1)
    inside = [
        record(hotline, agent, DAY_START),  # 00:00 local
        record(hotline, agent, DAY_START + timedelta(hours=23, minutes=59)),  # 23:59 local
    ]
    record(hotline, agent, DAY_START - timedelta(seconds=1))  # 23:59:59 the day before
    record(hotline, agent, DAY_START + timedelta(days=1))  # 00:00 the day after
    record(hotline, agent, DAY_START + timedelta(hours=3), status="failed")
    record(hotline, agent, DAY_START + timedelta(hours=4), status="absent")
    with hotline.sessions() as session:
        found = load_candidates(session, *local_day_bounds(DAY, "Asia/Shanghai"))
    assert [c.recording_id for c in found] == inside


# ---------------------------------------------------------------- drawing and storing


def test_the_sample_has_the_rate_every_agent_balanced_in_one_stored_sample(hotline):
    agents = busy_day(hotline, [40, 12, 3, 1, 25])  # 81 calls: 10% is 9
    report = draw_sample(hotline, DAY, options(hotline), now=LATER)
    assert report.created and report.recorded == 81 and report.sampled == 9
    with hotline.sessions() as session:
        sample = session.scalar(select(AuditSample).where(AuditSample.day == DAY))
        items = session.scalars(select(AuditItem).where(AuditItem.sample_id == sample.id)).all()
    assert (sample.recorded_calls, sample.sampled_calls, sample.rate) == (81, 9, 0.10)
    assert sample.created_by == "scheduler" and 0 <= sample.seed < 2**63
    counts = Counter(item.agent_id for item in items)
    assert counts == {agents[0]: 2, agents[1]: 2, agents[2]: 2, agents[3]: 1, agents[4]: 2}
    assert all(item.status == "pending" for item in items)
    assert sample.params["timezone"] == "Asia/Shanghai"
    assert sample.params["recorded_per_agent"][str(agents[0])] == 40
    assert [a.sampled for a in report.agents] == [2, 2, 2, 1, 2]
    assert [a.name for a in report.agents] == [f"Audit agent {i}" for i in range(5)]


def test_drawing_twice_returns_the_same_sample_not_a_second_one(hotline):
    busy_day(hotline, [30, 30])
    first = draw_sample(hotline, DAY, options(hotline), now=LATER)
    # later recordings and other options change nothing once the day is drawn
    record(hotline, None, DAY_START + timedelta(hours=5))
    second = draw_sample(hotline, DAY, options(hotline, min_duration=600), seed=1, now=LATER)
    assert first.created and not second.created
    assert (second.sample_id, second.seed, second.sampled) == (first.sample_id, first.seed, first.sampled)
    assert samples(hotline) == 1
    with hotline.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditItem)) == first.sampled


def test_the_stored_sample_reproduces_from_its_seed(hotline):
    busy_day(hotline, [50, 20, 7])
    with hotline.sessions() as session, session.begin():  # some complaint calls to over-sample
        session.execute(update(Call).where(Call.id % 9 == 0).values(intent="complaint"))
    report = draw_sample(hotline, DAY, options(hotline, min_duration=60), now=LATER)
    with hotline.sessions() as session:
        stored = set(session.scalars(select(AuditItem.recording_id)))
        again = draw(
            load_candidates(session, *local_day_bounds(DAY, "Asia/Shanghai")),
            report.seed,
            report.rate,
            min_duration=60,
            oversample=("complaint", "safety"),
        )
    assert {c.recording_id for c in again.items} == stored
    assert verify_sample(hotline, DAY) is True
    assert report.params["oversample"] == ["complaint", "safety"] and report.params["oversampled_drawn"] > 0


def test_a_given_seed_is_used_and_different_seeds_draw_differently(hotline):
    busy_day(hotline, [60, 60])
    report = draw_sample(hotline, DAY, options(hotline), seed=42, now=LATER)
    with hotline.sessions() as session:
        candidates = load_candidates(session, *local_day_bounds(DAY, "Asia/Shanghai"))
        stored = set(session.scalars(select(AuditItem.recording_id)))
    assert report.seed == 42
    assert {
        c.recording_id for c in draw(candidates, 42, 0.10, oversample=("complaint", "safety")).items
    } == stored
    others = [frozenset(c.recording_id for c in draw(candidates, s, 0.10).items) for s in range(43, 53)]
    assert len(set(others)) >= 9 and stored not in others


def test_a_short_minimum_duration_falls_back_and_the_sample_says_so(hotline):
    [a, b] = add_agents(hotline, 2)
    for i in range(20):
        record(hotline, a, DAY_START + timedelta(minutes=i), duration=15)
        record(hotline, b, DAY_START + timedelta(minutes=i), duration=15 if i else 400)
    report = draw_sample(hotline, DAY, options(hotline, min_duration=120), now=LATER)
    assert report.sampled == 4 and {x.sampled for x in report.agents} == {2}  # never under 10%
    assert report.params["min_duration"] == 120 and report.params["short_drawn"] == 3
    assert "only 1 of 40 recorded calls are at least 120s long" in report.params["notes"][0]


def test_a_day_without_recordings_stores_nothing(hotline):
    report = draw_sample(hotline, DAY, options(hotline), now=LATER)
    assert report.sample_id is None and not report.created
    assert samples(hotline) == 0


def test_a_day_not_over_yet_is_refused(hotline):
    busy_day(hotline, [5])
    with pytest.raises(AuditRefused, match="not over yet in Asia/Shanghai"):
        draw_sample(hotline, DAY, options(hotline), now=DAY_START + timedelta(hours=23, minutes=59))
    assert samples(hotline) == 0


# ---------------------------------------------------------------- two schedulers at 00:30


@pytest.mark.parametrize("racers", [2, 4])
def test_racing_schedulers_store_exactly_one_sample(hotline, monkeypatch, caplog, racers):
    busy_day(hotline, [35, 20, 9])
    # every racer has read "no sample yet" and the recordings before any of them writes
    everyone_has_read = threading.Barrier(racers, timeout=20)
    real_load = audit_sampling.load_candidates

    def load_then_wait(session, start, end):
        found = real_load(session, start, end)
        everyone_has_read.wait()
        return found

    monkeypatch.setattr(audit_sampling, "load_candidates", load_then_wait)
    caplog.set_level("INFO", logger="ivr.quality.audit_sampling")
    reports, errors = [], []

    def scheduler_process():
        try:
            reports.append(draw_sample(hotline, DAY, options(hotline), now=LATER))
        except Exception as error:  # surfaced below: a racer must not fail
            errors.append(error)

    threads = [threading.Thread(target=scheduler_process) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(audit_sampling, "load_candidates", real_load)
    assert errors == []
    # they really raced: each loser's insert hit the unique day and it took the winner's sample
    assert sum("was drawn meanwhile" in message for message in caplog.messages) == racers - 1
    assert sum(r.created for r in reports) == 1, "exactly one racer drew the sample"
    assert len({(r.sample_id, r.seed, r.sampled) for r in reports}) == 1, "the others returned the same"
    assert samples(hotline) == 1
    with hotline.sessions() as session:
        items = session.scalar(select(func.count()).select_from(AuditItem))
    assert items == reports[0].sampled == 7  # 64 calls: ceil(6.4); the losers wrote no item
    assert verify_sample(hotline, DAY) is True


# ---------------------------------------------------------------- the scheduled job


def test_the_job_is_registered_at_the_audit_time_local(hotline):
    job = build_scheduler(hotline).get_job("draw_audit_samples")
    assert job is not None and job.func is draw_audit_samples
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("0", "30")
    assert str(job.trigger.timezone) == "Asia/Shanghai"
    after = datetime.fromisoformat("2025-03-10T12:00:00+08:00")
    assert job.trigger.get_next_fire_time(None, after).isoformat() == "2025-03-11T00:30:00+08:00"


def test_the_job_follows_the_configured_time(hotline):
    hotline.settings = hotline.settings.with_overrides(audit_time="01:15", local_timezone="Europe/Berlin")
    job = build_scheduler(hotline).get_job("draw_audit_samples")
    after = datetime.fromisoformat("2025-03-10T12:00:00+01:00")
    assert job.trigger.get_next_fire_time(None, after).isoformat() == "2025-03-11T01:15:00+01:00"


def test_a_bad_audit_time_is_named(hotline):
    hotline.settings = hotline.settings.with_overrides(audit_time="half past midnight")
    with pytest.raises(ValueError, match="IVR_AUDIT_TIME must be HH:MM"):
        build_scheduler(hotline)


def test_the_job_draws_yesterday_and_a_missed_day_once(hotline):
    busy_day(hotline, [12, 4])  # DAY
    busy_day(hotline, [3], day_start=DAY_START - timedelta(days=2))  # two days before: missed
    at_half_past_midnight = datetime(2025, 3, 10, 16, 30)  # 00:30 on 11 March, local
    reports = draw_due_samples(hotline, now=at_half_past_midnight)
    drawn = {r.day: r.sampled for r in reports if r.created}
    assert drawn == {DAY: 2, DAY - timedelta(days=2): 1}
    again = draw_due_samples(hotline, now=at_half_past_midnight + timedelta(minutes=1))
    assert not any(r.created for r in again)
    assert samples(hotline) == 2


def test_the_job_function_draws_yesterday_by_the_clock(hotline):
    yesterday = previous_local_day(utcnow(), hotline.settings.local_timezone)
    start, _ = local_day_bounds(yesterday, hotline.settings.local_timezone)
    busy_day(hotline, [11, 2], day_start=start)
    assert draw_audit_samples(hotline) == 1
    assert draw_audit_samples(hotline) == 0  # the second run finds the sample
    [report] = audit_status(hotline, yesterday)
    assert (report.recorded, report.sampled, report.created_by) == (13, 2, "scheduler")


# ---------------------------------------------------------------- progress


def test_status_shows_reviewed_and_pending_per_agent(hotline):
    agents = busy_day(hotline, [20, 20])
    report = draw_sample(hotline, DAY, options(hotline), now=LATER)
    with hotline.sessions() as session, session.begin():
        first = session.scalar(select(AuditItem).where(AuditItem.agent_id == agents[0]).limit(1))
        first.status = "done"
    [status] = audit_status(hotline, DAY)
    assert (status.sample_id, status.sampled, status.done, status.pending) == (report.sample_id, 4, 1, 3)
    assert [(a.agent_id, a.sampled, a.done, a.pending) for a in status.agents] == [
        (agents[0], 2, 1, 1),
        (agents[1], 2, 0, 2),
    ]
    assert audit_status(hotline, DAY + timedelta(days=1)) == []


# ---------------------------------------------------------------- command line


@pytest.fixture
def env(monkeypatch, settings, hotline):
    """The CLI reads its settings from the environment: point it at the test database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    monkeypatch.delenv("IVR_AUDIT_RATE", raising=False)
    monkeypatch.delenv("IVR_TIMEZONE", raising=False)
    return hotline


def test_cli_sample_prints_the_sample_and_says_already_drawn_the_second_time(env):
    agents = busy_day(env, [25, 6])
    result = CliRunner().invoke(cli, ["audit", "sample", "--date", "2025-03-10", "--seed", "77"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "audit sample of 2025-03-10 drawn" in out
    assert "recorded 31, sampled 4 (12.9%; rate 10%)" in out and "seed 77" in out
    assert f"Audit agent 0 (agent {agents[0]})" in out and "-> 2 of 25 recorded" in out
    assert f"Audit agent 1 (agent {agents[1]})" in out and "-> 2 of 6 recorded" in out
    assert "by cli" in out and "over-sampled: complaint, safety" in out
    again = CliRunner().invoke(cli, ["audit", "sample", "--date", "2025-03-10", "--min-duration", "30"])
    assert again.exit_code == 0, again.output
    assert "already drawn" in again.output and "the options given were not used" in again.output
    assert "seed 77" in again.output
    assert samples(env) == 1


def test_cli_sample_options(env):
    busy_day(env, [30])
    result = CliRunner().invoke(
        cli,
        ["audit", "sample", "--date", "2025-03-10", "--min-duration", "600", "--oversample", "none"],
    )
    assert result.exit_code == 0, result.output
    assert "minimum duration 600s; over-sampled: none" in result.output
    assert "note: only 0 of 30 recorded calls are at least 600s long; 3 shorter call(s)" in result.output


def test_cli_sample_refusals(env):
    bad = CliRunner().invoke(cli, ["audit", "sample", "--date", "2025-03-10", "--oversample", "gossip"])
    assert bad.exit_code == 2 and "unknown intent(s) gossip" in bad.output
    future = CliRunner().invoke(cli, ["audit", "sample", "--date", "2999-01-01"])
    assert future.exit_code == 1 and "refused: 2999-01-01 is not over yet" in future.output
    empty = CliRunner().invoke(cli, ["audit", "sample", "--date", "2025-03-10"])
    assert empty.exit_code == 0 and "2025-03-10: no recorded calls, nothing drawn" in empty.output


def test_cli_status(env):
    none = CliRunner().invoke(cli, ["audit", "status"])
    assert none.exit_code == 0 and "no audit samples yet" in none.output
    agents = busy_day(env, [20, 20])
    draw_sample(env, DAY, options(env), now=LATER)
    with env.sessions() as session, session.begin():
        session.execute(update(AuditItem).where(AuditItem.agent_id == agents[1]).values(status="done"))
    result = CliRunner().invoke(cli, ["audit", "status", "--date", "2025-03-10"])
    assert result.exit_code == 0, result.output
    assert "recorded 40, sampled 4 (10.0%; rate 10%), reviewed 2, pending 2" in result.output
    assert "-> 2 of 20 recorded; reviewed 0, pending 2" in result.output
    assert "-> 2 of 20 recorded; reviewed 2, pending 0" in result.output
    assert "drawing again from the seed gives the same calls" in result.output
    listed = CliRunner().invoke(cli, ["audit", "status"])
    assert "2025-03-10  recorded 40" in listed.output
    missing = CliRunner().invoke(cli, ["audit", "status", "--date", "2025-03-11"])
    assert "no audit sample for 2025-03-11" in missing.output
