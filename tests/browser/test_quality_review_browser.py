"""The quality review in a real browser: a reviewer opens the sample, plays a recording, scores the call
and sees the score; the agent then sees that review, and only their own."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.db.models import Agent, AuditItem, AuditSample, Call, CallEvent, PlaybackLog, Recording, Review
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.quality.reviews import submit_review
from ivr.quality.scorecard_versions import ensure_scorecard
from tests.browser.conftest import Site, screenshot, write_wav
from tests.helpers import new_call_sid

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
DAY = date(2026, 11, 20)
GOOD = {
    "greeting": 100,
    "answered_in_three_rings": 100,
    "details_repeated": 100,
    "no_forbidden_phrase": 100,
    "correct_information": 100,
    "first_contact_ownership": 100,
    "safety_advice": "na",
    "proper_close": 100,
}


@pytest.fixture
def sample(site: Site):
    """Users qa (quality) and chen (agent 陈静); a sample with chen's and zhao's calls, WAV files on disk.

    Returns item ids: chen_pending (to score in the browser), chen_other (pending, never shown to chen),
    chen_reviewed and zhao_reviewed (reviewed beforehand), and their review ids.
    """
    hotline = site.hotline
    ensure_scorecard(hotline.sessions)
    with unit_of_work(hotline.sessions) as session:
        ids = dict(session.execute(select(Agent.client_identity, Agent.id)).all())
        chen, zhao = ids["agent-chenjing"], ids["agent-zhaolei"]
        qa, _ = create_user(session, username="qa", role="quality", password=PASSWORD)
        create_user(session, username="chen", role="agent", password=PASSWORD, agent_id=chen)
        drawn = AuditSample(day=DAY, seed=1, rate=0.1, params={}, recorded_calls=40, sampled_calls=4)
        session.add(drawn)
        session.flush()
        items = {
            "chen_pending": _call(session, site, drawn, chen, "billing", 1),
            "chen_other": _call(session, site, drawn, chen, "safety", 2),
            "chen_reviewed": _call(session, site, drawn, chen, "complaint", 3),
            "zhao_reviewed": _call(session, site, drawn, zhao, "repair", 4),
        }
        reviewer = qa.id
    reviews = {}
    for name in ("chen_reviewed", "zhao_reviewed"):
        with unit_of_work(hotline.sessions) as session:
            reviews[name] = submit_review(
                session, item_id=items[name], reviewer_id=reviewer, scorecard_version=1, answers=GOOD
            ).id
    return items, reviews


def _call(session, site, drawn, agent_id, intent, minute):
    sid = new_call_sid()
    started = datetime.combine(drawn.day, time(3, minute))
    session.add(
        Call(
            call_sid=sid,
            from_number="+8613800000001",
            started_at=started,
            intent=intent,
            outcome="answered",
            queue_seconds=8,
        )
    )
    session.add(
        CallEvent(
            key=f"{sid}:start",
            call_sid=sid,
            kind="call.started",
            at=started,
            data={"visited": ["root", intent]},
        )
    )
    recording = Recording(
        recording_sid="RE" + sid[2:],
        call_sid=sid,
        agent_id=agent_id,
        status="completed",
        duration_seconds=1,
        channels=1,
        started_at=started + timedelta(seconds=8),
    )
    session.add(recording)
    session.flush()
    # Where the playback endpoint finds a recording's local copy (ivr.quality.recordings.audio_path).
    write_wav(site.hotline.settings.recordings_dir / f"{recording.recording_sid}.wav")
    item = AuditItem(sample_id=drawn.id, recording_id=recording.id, call_sid=sid, agent_id=agent_id)
    session.add(item)
    session.flush()
    return item.id


def _log_in(page, site, username):
    page.goto(site.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_reviewer_plays_and_scores_a_call_and_its_agent_sees_only_their_own(page, site, sample):
    items, reviews = sample
    pending = items["chen_pending"]

    # The reviewer opens the sample from their home page.
    _log_in(page, site, "qa")
    page.locator("nav.main-nav summary", has_text="质检 / Quality").click()  # the navigation's menu
    page.get_by_role("link", name="质检抽样 / Audit sample").click()
    expect(page.locator("tr.sampled-call")).to_have_count(4)
    row = page.locator(f'tr.sampled-call[data-item-id="{pending}"]')
    expect(row.locator("td.agent")).to_have_text("陈静")
    screenshot(page, "1-sample")

    # The call's page: details, the recording, the scorecard.
    row.get_by_role("link", name="评分 / Score").click()
    expect(page.locator("#call .path")).to_have_text("root → billing")
    audio = page.locator("audio.recording")
    src = audio.get_attribute("src")
    assert src is not None and re.fullmatch(r"/recordings/\d+/audio", src)

    # Play it: the audio element fetches the recording from the playback endpoint and loads it.
    with page.expect_response(lambda response: response.url.endswith(src)) as fetched:
        audio.evaluate("element => element.play()")
    response = fetched.value
    assert response.status in (200, 206), response.status  # 206 when the player asks for a byte range
    assert response.headers["content-type"].startswith("audio/wav")
    page.wait_for_function("document.querySelector('audio.recording').readyState >= 1")
    assert audio.evaluate("element => element.error") is None
    assert audio.evaluate("element => element.duration") == pytest.approx(1.0, abs=0.05)
    with site.hotline.sessions() as session:
        assert session.scalars(select(PlaybackLog.call_sid)).all()  # the endpoint logged who listened

    # Score it: everything passed but the details were only partly repeated back; not a safety call.
    for question, answer in GOOD.items():
        page.check(f"#answer-{question}-{answer}")
    page.check("#answer-details_repeated-50")
    page.fill("textarea[name=findings]", "地址没有复述完整 / the address was not repeated back in full")
    page.fill("textarea[name=correction]", "复述要点练习 / practise repeating the key points")
    screenshot(page, "2-scoring")
    page.get_by_role("button", name="提交评分 / Submit review").click()

    # (100 - 15/2 - 15 N/A) / (100 - 15) = 77.5 / 85
    expect(page.locator("#score")).to_have_text("91.2")
    expect(page.locator("p.flash.ok")).to_contain_text("Review saved: score 91.2")
    screenshot(page, "3-scored")
    page.get_by_role("link", name="← 抽样 / Sample 2026-11-20").click()
    expect(page.locator(f'tr.sampled-call[data-item-id="{pending}"] td.status')).to_contain_text("91.2")
    with site.hotline.sessions() as session:
        stored = session.scalar(select(Review).where(Review.item_id == pending))
        assert stored is not None and stored.score == 91.2 and stored.answers["details_repeated"] == 50

    # The agent: their reviewed calls only (not the pending one, not zhao's).
    page.get_by_role("button", name="退出 / Log out").click()
    _log_in(page, site, "chen")
    page.goto(site.url + "/quality/mine")
    listed = page.locator("tr.reviewed-call")
    expect(listed).to_have_count(2)
    with site.hotline.sessions() as session:
        own = {
            r.id
            for r in session.scalars(
                select(Review).where(Review.item_id.in_([pending, items["chen_reviewed"]]))
            )
        }
    assert {int(x) for x in listed.evaluate_all("rows => rows.map(r => r.dataset.reviewId)")} == own
    screenshot(page, "4-agent-list")
    page.locator(f'tr.reviewed-call[data-review-id="{stored.id}"]').get_by_role("link").click()
    expect(page.locator("#score")).to_have_text("91.2")
    expect(page.locator(".findings")).to_contain_text("地址没有复述完整")
    screenshot(page, "5-agent-review")

    refused = page.goto(site.url + f"/quality/reviews/{reviews['zhao_reviewed']}")
    assert refused is not None and refused.status == 403
    expect(page.locator("p.flash.error")).to_contain_text("Agents see only their own reviews")
    assert page.goto(site.url + "/quality").status == 403  # type: ignore[union-attr]


def test_a_review_with_a_problem_is_refused_in_the_browser_and_nothing_saved(page, site, sample):
    items, _ = sample
    _log_in(page, site, "qa")
    page.goto(site.url + f"/quality/items/{items['chen_pending']}")
    for question, answer in GOOD.items():
        page.check(f"#answer-{question}-{answer}")
    page.check("#answer-greeting-0")  # fell short, but no findings written
    page.get_by_role("button", name="提交评分 / Submit review").click()
    expect(page.locator(".problems")).to_contain_text("findings: are needed")
    expect(page.locator("#answer-greeting-0")).to_be_checked()  # what was entered is kept
    screenshot(page, "6-refused")
    with site.hotline.sessions() as session:
        assert session.scalar(select(Review).where(Review.item_id == items["chen_pending"])) is None
