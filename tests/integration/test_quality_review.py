"""The quality review: the sample list and its filters, the scorecard (versions, validation), the score
maths, reviews and their bad inputs, and who sees what."""

from __future__ import annotations

import functools
import html
import json
import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ivr.db.models import (
    Agent,
    AuditItem,
    AuditSample,
    Call,
    CallEvent,
    QueueEntry,
    Recording,
    Review,
    ScorecardVersion,
    User,
)
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.quality.scorecards import (
    NA,
    InvalidAnswers,
    InvalidScorecard,
    check_answers,
    compute_score,
    load_scorecard_file,
    parse_scorecard,
)
from tests.helpers import count, new_call_sid

PASSWORD = "correct horse battery"
DAY = date(2026, 11, 20)
EARLIER = DAY - timedelta(days=1)

# Every question of the default scorecard answered well; the call was not a safety call.
GOOD = {
    "greeting": "100",
    "answered_in_three_rings": "100",
    "details_repeated": "100",
    "no_forbidden_phrase": "100",
    "correct_information": "100",
    "first_contact_ownership": "100",
    "safety_advice": "na",
    "proper_close": "100",
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def agents(hotline):
    """Demo agents by name: chen (陈静), zhao (赵磊), sun (孙丽)."""
    with hotline.sessions() as session:
        ids = dict(session.execute(select(Agent.client_identity, Agent.id)).all())
    return {"chen": ids["agent-chenjing"], "zhao": ids["agent-zhaolei"], "sun": ids["agent-sunli"]}


@pytest.fixture
def world(hotline, agents):
    """Users of every role, and two days of samples.

    DAY: chen billing, chen safety (emergency, waited in our queue), zhao repair, sun complaint.
    EARLIER: zhao billing.
    """
    with unit_of_work(hotline.sessions) as session:
        for username, role, agent in [
            ("qa", "quality", None),
            ("boss", "supervisor", None),
            ("root", "admin", None),
            ("lead", "shift_lead", None),
            ("chen", "agent", agents["chen"]),
            ("zhao", "agent", agents["zhao"]),
        ]:
            session.add(User(username=username, role=role, agent_id=agent, password_hash=_password_hash()))
        today = _sample(session, DAY)
        earlier = _sample(session, EARLIER)
        items = {
            "chen_billing": _sampled_call(session, today, agents["chen"], "billing", minute=1),
            "chen_safety": _sampled_call(
                session, today, agents["chen"], "safety", minute=2, emergency=True, path=("root", "gas_leak")
            ),
            "zhao_repair": _sampled_call(
                session, today, agents["zhao"], "repair", minute=3, language="en-US"
            ),
            "sun_complaint": _sampled_call(session, today, agents["sun"], "complaint", minute=4),
            "zhao_earlier": _sampled_call(session, earlier, agents["zhao"], "billing", minute=5),
        }
    return items


@functools.cache
def _password_hash():
    # Hashed once: scrypt per user per test would be most of this file's run time.
    return generate_password_hash(PASSWORD)


def _sample(session, day):
    sample = AuditSample(
        day=day, seed=7, rate=0.1, params={}, recorded_calls=40, sampled_calls=0, created_by="tests"
    )
    session.add(sample)
    session.flush()
    return sample


def _sampled_call(
    session,
    sample,
    agent_id,
    intent,
    *,
    minute,
    path=("root", "billing"),
    language="zh-CN",
    emergency=False,
    wait=12,
    talk=95,
):
    """A recorded, answered call with its events, drawn into `sample`; returns the audit item id."""
    sid = new_call_sid()
    started = datetime.combine(sample.day, time(2, minute))
    in_queue = intent == "safety"  # this one's wait comes from our queue entry, not Twilio's QueueTime
    session.add(
        Call(
            call_sid=sid,
            from_number="+8613800000001",
            started_at=started,
            language=language,
            intent=intent,
            queue=intent,
            emergency=emergency,
            outcome="answered",
            queue_seconds=None if in_queue else wait,
        )
    )
    if in_queue:
        session.add(
            QueueEntry(
                call_sid=sid,
                queue=intent,
                intent=intent,
                language=language,
                status="done",
                waiting_since=started + timedelta(seconds=10),
                claimed_at=started + timedelta(seconds=10 + wait),
                agent_id=agent_id,
            )
        )
    at = started
    for kind, data in [
        ("call.started", {"visited": [path[0]]}),
        ("menu.turn", {"node": path[0], "digits": "1", "reason": "choice", "visited": list(path[1:])}),
        ("agent.result", {"status": "completed", "agent_id": agent_id, "duration": str(talk)}),
    ]:
        at += timedelta(seconds=5)
        session.add(CallEvent(key=f"{sid}:{kind}", call_sid=sid, kind=kind, at=at, data=data))
    recording = Recording(
        recording_sid="RE" + sid[2:],
        call_sid=sid,
        agent_id=agent_id,
        status="completed",
        duration_seconds=talk + 2,
        channels=2,
        started_at=started + timedelta(seconds=wait),
    )
    session.add(recording)
    session.flush()
    item = AuditItem(
        sample_id=sample.id, recording_id=recording.id, call_sid=sid, agent_id=agent_id, status="pending"
    )
    session.add(item)
    sample.sampled_calls += 1
    session.flush()
    return item.id


@pytest.fixture
def login(app):
    """login(username) -> a test client signed in as that user."""
    app.config["SECRET_KEY"] = "test-secret-key"

    def signed_in(username):
        client = app.test_client()
        token = _csrf(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
        return client

    return signed_in


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _text(response):
    return response.get_data(as_text=True)


def _submit(client, item_id, answers, *, findings="", correction="", version=None, extra=None):
    """Post the review form of an item as the browser would."""
    page = _text(client.get(f"/quality/items/{item_id}"))
    if version is None:
        found = re.search(r'name="scorecard_version" value="(\d+)"', page)
        version = found.group(1) if found else "1"
    form = {
        "csrf_token": _csrf(page),
        "scorecard_version": str(version),
        "findings": findings,
        "correction": correction,
        **{f"answer-{qid}": value for qid, value in answers.items()},
        **(extra or {}),
    }
    return client.post(f"/quality/items/{item_id}/review", data=form)


def _reviews(hotline):
    with hotline.sessions() as session:
        return session.scalars(select(Review).order_by(Review.id)).all()


def _item(hotline, item_id):
    with hotline.sessions() as session:
        return session.get(AuditItem, item_id)


def _rows(page):
    """item id -> the row's HTML, of the sample table."""
    return {
        int(m.group(1)): m.group(0)
        for m in re.finditer(r'<tr class="sampled-call[^"]*" data-item-id="(\d+)".*?</tr>', page, re.S)
    }


def _publish(client, document, *, based_on=None):
    page = _text(client.get("/quality/scorecard"))
    if based_on is None:
        based_on = re.search(r'name="based_on" value="(\d+)"', page).group(1)
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    return client.post(
        "/quality/scorecard", data={"csrf_token": _csrf(page), "based_on": str(based_on), "document": text}
    )


def _versions(hotline):
    with hotline.sessions() as session:
        return count(session, ScorecardVersion)


def _default_document():
    return parse_scorecard(load_scorecard_file()).to_document()


# ---------------------------------------------------------------- the sample list and its filters


def test_the_sample_lists_the_newest_day_with_each_calls_details_and_player(login, hotline, world):
    page = _text(login("qa").get("/quality"))
    rows = _rows(page)
    assert set(rows) == {world[k] for k in ("chen_billing", "chen_safety", "zhao_repair", "sun_complaint")}
    billing = rows[world["chen_billing"]]
    assert "陈静" in billing and "账单 / Billing" in billing and "中文 / Chinese" in billing
    assert "0:12" in billing and "1:35" in billing  # wait from QueueTime, talk from the agent leg
    assert "root → billing" in billing and "已接听 / Answered" in billing
    recording_id = re.search(r'src="/recordings/(\d+)/audio"', billing).group(1)
    assert re.search(r'<audio[^>]*controls[^>]*preload="none"', billing)
    assert _item(hotline, world["chen_billing"]).recording_id == int(recording_id)
    safety = rows[world["chen_safety"]]
    assert "0:12" in safety and "root → gas_leak" in safety  # wait from our queue entry's times
    assert "英语 / English" in rows[world["zhao_repair"]]
    assert "2026-11-20" in page and "4 / 40" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agent={chen}", {"chen_billing", "chen_safety"}),
        ("agent={zhao}", {"zhao_repair"}),
        ("intent=complaint", {"sun_complaint"}),
        ("intent=safety&agent={chen}", {"chen_safety"}),
        ("intent=safety&agent={zhao}", set()),
        ("date=2026-11-19", {"zhao_earlier"}),
        ("date=2026-11-19&agent={chen}", set()),
        ("status=pending", {"chen_billing", "chen_safety", "zhao_repair", "sun_complaint"}),
    ],
)
def test_the_filters_narrow_the_sample(login, world, agents, query, expected):
    page = _text(login("qa").get("/quality?" + query.format(**agents)))
    assert set(_rows(page)) == {world[name] for name in expected}
    if not expected:
        assert "No sampled call matches the filter" in page


def test_the_status_filter_tells_reviewed_from_pending(login, hotline, world):
    client = login("qa")
    assert _submit(client, world["zhao_repair"], GOOD).status_code == 302
    done = _text(client.get("/quality?status=done"))
    assert set(_rows(done)) == {world["zhao_repair"]}
    assert "100" in _rows(done)[world["zhao_repair"]]
    pending = _rows(_text(client.get("/quality?status=pending")))
    assert world["zhao_repair"] not in pending and len(pending) == 3


def test_a_day_without_a_sample_says_so(login, world):
    page = _text(login("qa").get("/quality?date=2026-10-01"))
    assert "No sample was drawn for 2026-10-01" in page and not _rows(page)
    assert "2026-11-20" in page  # the days that have one are offered


def test_no_sample_at_all_says_so(login, hotline, agents):
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username="qa", role="quality", password=PASSWORD)
    page = _text(login("qa").get("/quality"))
    assert "No sample has been drawn yet" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date=20-11-2026", "date must be YYYY-MM-DD"),
        ("agent=chen", "agent must be an agent id"),
        ("status=open", "status must be pending or done"),
        ("intent=DROP%20TABLE", "is not an intent"),
    ],
)
def test_a_bad_filter_is_refused_saying_which(login, world, query, message):
    response = login("qa").get("/quality?" + query)
    assert response.status_code == 400 and message in _text(response)


def test_a_call_is_found_by_its_sid_only_when_sampled(login, hotline, world):
    client = login("qa")
    sid = _item(hotline, world["sun_complaint"]).call_sid
    response = client.get(f"/quality/calls/{sid}")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/quality/items/{world['sun_complaint']}"
    )
    missing = client.get("/quality/calls/CA0000000000000000000000000000ffff")
    assert missing.status_code == 404 and "is not in the audit sample" in _text(missing)


def test_the_item_page_shows_details_player_and_the_scorecard_form(login, hotline, world):
    page = _text(login("qa").get(f"/quality/items/{world['chen_safety']}"))
    assert "GAS EMERGENCY" in page and "root → gas_leak" in page and "root: 1" in page
    recording = _item(hotline, world["chen_safety"]).recording_id
    assert f'src="/recordings/{recording}/audio"' in page
    assert 'name="scorecard_version" value="1"' in page
    for question in GOOD:
        assert f'name="answer-{question}"' in page
    # N/A only where allowed; an automatic-fail question is pass or fail, no partial.
    assert 'id="answer-safety_advice-na"' in page and 'id="answer-greeting-na"' not in page
    assert 'id="answer-greeting-50"' in page and 'id="answer-no_forbidden_phrase-50"' not in page
    assert "don&#39;t ask me" in page or "don't ask me" in page  # the forbidden phrases are listed


# ---------------------------------------------------------------- the score maths (pure)

CARD = parse_scorecard(
    {
        "name": "t",
        "sections": [
            {
                "id": "s",
                "title": "S",
                "questions": [
                    {"id": "a", "text": "A", "weight": 10},
                    {"id": "b", "text": "B", "weight": 30},
                    {"id": "c", "text": "C", "weight": 20, "na_allowed": True},
                    {"id": "x", "text": "X", "weight": 40, "auto_fail": True, "na_allowed": True},
                ],
            }
        ],
    }
)


@pytest.mark.parametrize(
    ("answers", "score", "auto_failed"),
    [
        ({"a": 100, "b": 100, "c": 100, "x": 100}, 100.0, False),
        ({"a": 0, "b": 0, "c": 0, "x": 100}, 40.0, False),
        ({"a": 0, "b": 100, "c": 100, "x": 100}, 90.0, False),
        ({"a": 50, "b": 100, "c": 100, "x": 100}, 95.0, False),
        # N/A drops out of the denominator: (10*100 + 30*0 + 40*100) / 80
        ({"a": 100, "b": 0, "c": NA, "x": 100}, 62.5, False),
        ({"a": 100, "b": 100, "c": NA, "x": NA}, 100.0, False),
        ({"a": 0, "b": 100, "c": NA, "x": NA}, 75.0, False),
        # rounding half up to one decimal: (10*100 + 30*0 + 20*0) / 60 = 16.66..
        ({"a": 100, "b": 0, "c": 0, "x": NA}, 16.7, False),
        ({"a": 100, "b": 50, "c": 0, "x": NA}, 41.7, False),
        # an automatic-fail item failed: 0 whatever else
        ({"a": 100, "b": 100, "c": 100, "x": 0}, 0.0, True),
        ({"a": 100, "b": 100, "c": NA, "x": 0}, 0.0, True),
    ],
)
def test_the_score_is_the_weighted_mean_with_na_left_out_and_auto_fail_zero(answers, score, auto_failed):
    result = compute_score(CARD, answers)
    assert (result.score, result.auto_failed) == (score, auto_failed)
    assert result.failed_auto_items == (("x",) if auto_failed else ())


def test_all_na_scores_nothing():
    card = parse_scorecard(
        {
            "name": "t",
            "sections": [
                {
                    "id": "s",
                    "title": "S",
                    "questions": [{"id": "a", "text": "A", "weight": 1, "na_allowed": True}],
                }
            ],
        }
    )
    with pytest.raises(InvalidAnswers, match="nothing to score"):
        compute_score(card, {"a": NA})


def test_a_zero_weight_auto_fail_item_fails_without_counting():
    card = parse_scorecard(
        {
            "name": "t",
            "sections": [
                {
                    "id": "s",
                    "title": "S",
                    "questions": [
                        {"id": "a", "text": "A", "weight": 1},
                        {"id": "gate", "text": "G", "weight": 0, "auto_fail": True},
                    ],
                }
            ],
        }
    )
    assert compute_score(card, {"a": 50, "gate": 100}).score == 50.0
    assert compute_score(card, {"a": 100, "gate": 0}).auto_failed


def test_the_default_card_weights_add_up_to_100():
    card = parse_scorecard(load_scorecard_file())
    assert sum(q.weight for q in card.questions) == 100
    assert [q.id for q in card.questions] == list(GOOD)
    assert {q.id for q in card.questions if q.auto_fail} == {"no_forbidden_phrase", "safety_advice"}
    assert {q.id for q in card.questions if q.na_allowed} == {"safety_advice"}
    assert len(card.question("no_forbidden_phrase").examples) == 14  # every phrase of DOMAIN.md


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"a": "100", "b": "100", "c": "100", "x": "100", "zz": "100"}, "answers.zz: is not a question on"),
        ({"a": "100", "b": "100", "c": "100"}, "answers.x: has no answer"),
        ({"a": "", "b": "100", "c": "100", "x": "100"}, "answers.a: has no answer"),
        ({"a": "150", "b": "100", "c": "100", "x": "100"}, "answers.a: 150 is out of range"),
        ({"a": "-1", "b": "100", "c": "100", "x": "100"}, "answers.a: -1 is out of range"),
        ({"a": "good", "b": "100", "c": "100", "x": "100"}, "answers.a: 'good' is not a score"),
        ({"a": "12.5", "b": "100", "c": "100", "x": "100"}, "answers.a: '12.5' is not a score"),
        ({"a": True, "b": "100", "c": "100", "x": "100"}, "answers.a: True is not a score"),
        ({"a": "na", "b": "100", "c": "100", "x": "100"}, "answers.a: N/A is not allowed on this question"),
        ({"a": "100", "b": "100", "c": "100", "x": "50"}, "answers.x: an automatic-fail question is 100"),
    ],
)
def test_answers_that_do_not_fit_the_card_are_named(given, problem):
    with pytest.raises(InvalidAnswers) as refused:
        check_answers(CARD, given, version=3)
    assert any(str(p).startswith(problem) for p in refused.value.problems), refused.value.problems


def test_answers_are_read_from_form_text():
    assert check_answers(CARD, {"a": "100", "b": " 50 ", "c": "N/A", "x": 0}) == {
        "a": 100,
        "b": 50,
        "c": NA,
        "x": 0,
    }


# ---------------------------------------------------------------- submitting reviews


def test_a_review_is_scored_stored_and_shown(login, hotline, world):
    client = login("qa")
    answers = {**GOOD, "details_repeated": "50", "proper_close": "0"}
    response = _submit(
        client,
        world["chen_billing"],
        answers,
        findings="没有复述地址 / did not repeat the address",
        correction="复述训练 / practise repeating back",
    )
    assert response.status_code == 302
    [review] = _reviews(hotline)
    # (10+10+15*0.5+15+20+10+0) / (100-15 N/A) = 72.5 / 85
    assert review.score == 85.3 and not review.auto_failed
    assert review.scorecard_version == 1
    assert review.answers["details_repeated"] == 50 and review.answers["safety_advice"] == NA
    assert review.findings.startswith("没有复述地址")
    assert _item(hotline, world["chen_billing"]).status == "done"
    page = _text(client.get(response.headers["Location"]))
    assert "Review saved: score 85.3" in page and 'id="score">85.3<' in page
    assert "practise repeating back" in page and 'id="score-form"' not in page


def test_a_failed_automatic_fail_item_scores_zero(login, hotline, world):
    answers = {**GOOD, "no_forbidden_phrase": "0"}
    response = _submit(
        login("qa"), world["zhao_repair"], answers, findings="说了“不归我管”", correction="禁语培训"
    )
    assert response.status_code == 302
    [review] = _reviews(hotline)
    assert (review.score, review.auto_failed) == (0.0, True)


def test_safety_advice_is_scored_on_a_safety_call(login, hotline, world):
    answers = {**GOOD, "safety_advice": "100"}
    assert _submit(login("boss"), world["chen_safety"], answers).status_code == 302
    assert _reviews(hotline)[0].score == 100.0


BAD_INPUTS = [
    ({**GOOD, "tone_of_voice": "100"}, "answers.tone_of_voice: is not a question on scorecard version 1"),
    ({**GOOD, "greeting": "150"}, "answers.greeting: 150 is out of range"),
    ({**GOOD, "greeting": "-5"}, "answers.greeting: -5 is out of range"),
    ({**GOOD, "greeting": "excellent"}, "is not a score"),
    ({**GOOD, "proper_close": "na"}, "answers.proper_close: N/A is not allowed on this question"),
    ({**GOOD, "no_forbidden_phrase": "50"}, "an automatic-fail question is 100 (pass) or 0 (fail)"),
    ({k: v for k, v in GOOD.items() if k != "greeting"}, "answers.greeting: has no answer"),
    ({**GOOD, "greeting": "0"}, "findings: are needed"),
]


@pytest.mark.parametrize(("answers", "message"), BAD_INPUTS)
def test_a_bad_review_is_refused_with_the_problem_and_nothing_saved(login, hotline, world, answers, message):
    response = _submit(login("qa"), world["chen_billing"], answers)
    assert response.status_code == 400
    page = _text(response)
    assert "Review not saved" in page and message in page
    assert _reviews(hotline) == []
    assert _item(hotline, world["chen_billing"]).status == "pending"
    # The form comes back as it was filled in.
    assert 'id="score-form"' in page
    if answers.get("greeting") == "0":
        assert re.search(r'id="answer-greeting-0"[^>]*checked', page)


def test_every_problem_is_named_at_once(login, hotline, world):
    answers = {**GOOD, "greeting": "150", "proper_close": "na", "bogus": "1"}
    page = _text(_submit(login("qa"), world["chen_billing"], answers))
    for problem in ("answers.greeting", "answers.proper_close", "answers.bogus"):
        assert problem in page


def test_an_unknown_scorecard_version_is_refused(login, hotline, world):
    response = _submit(login("qa"), world["chen_billing"], GOOD, version=99)
    assert response.status_code == 400 and "there is no scorecard version 99" in _text(response)
    assert _reviews(hotline) == []


def test_a_call_not_in_the_sample_cannot_be_reviewed(login, hotline, world):
    client = login("qa")
    token = _csrf(_text(client.get("/quality")))
    response = client.post(
        "/quality/items/99999/review",
        data={"csrf_token": token, "scorecard_version": "1", **{f"answer-{k}": v for k, v in GOOD.items()}},
    )
    assert response.status_code == 404 and "is not in the audit sample" in _text(response)
    assert client.get("/quality/items/99999").status_code == 404
    assert _reviews(hotline) == []


def test_a_second_submission_is_refused_and_the_first_review_kept(login, hotline, world):
    assert _submit(login("qa"), world["sun_complaint"], GOOD).status_code == 302
    again = _submit(
        login("boss"), world["sun_complaint"], {**GOOD, "greeting": "0"}, findings="x", correction="y"
    )
    assert again.status_code == 409
    assert "already reviewed by qa" in _text(again) and "a submitted review is final" in _text(again)
    [review] = _reviews(hotline)
    assert review.score == 100.0


def test_a_review_without_the_csrf_token_is_refused(login, hotline, world):
    client = login("qa")
    form = {"scorecard_version": "1", **{f"answer-{k}": v for k, v in GOOD.items()}}
    assert client.post(f"/quality/items/{world['chen_billing']}/review", data=form).status_code == 400
    assert _reviews(hotline) == []


# ---------------------------------------------------------------- the scorecard: versions and validation


def test_the_default_scorecard_is_version_1_and_shown(login, hotline, world):
    page = _text(login("qa").get("/quality/scorecard"))
    assert _versions(hotline) == 1
    assert "使用公司名称问候" in page and "不归我管" in page and "version 1" in page
    assert 'id="editor"' not in page  # quality staff read it; supervisors and admins change it


def test_a_supervisor_publishes_a_new_version_and_reviews_keep_theirs(login, hotline, world):
    qa, boss = login("qa"), login("boss")
    assert _submit(qa, world["chen_billing"], GOOD).status_code == 302  # on version 1

    document = _default_document()
    document["sections"][0]["questions"][0]["weight"] = 20
    document["sections"][-1]["questions"].append(
        {"id": "offered_more_help", "text": "询问是否还有其他需要 / Offered more help", "weight": 5}
    )
    response = _publish(boss, document)
    assert response.status_code == 302
    assert "Published version 2" in _text(boss.get("/quality/scorecard"))
    with hotline.sessions() as session:
        stored = session.get(ScorecardVersion, 2)
        assert stored.created_by == "boss"
        assert stored.document["sections"][-1]["questions"][-1]["na_allowed"] is False  # written out

    # New reviews use version 2 (and its new question); the first review kept version 1.
    page = _text(qa.get(f"/quality/items/{world['zhao_repair']}"))
    assert 'name="scorecard_version" value="2"' in page and 'name="answer-offered_more_help"' in page
    assert _submit(qa, world["zhao_repair"], {**GOOD, "offered_more_help": "100"}).status_code == 302
    first, second = _reviews(hotline)
    assert (first.scorecard_version, second.scorecard_version) == (1, 2)
    shown = _text(qa.get(f"/quality/reviews/{first.id}"))
    assert "offered_more_help" not in shown and "Scorecard version 1" in shown
    assert "version 1" in _text(qa.get("/quality/scorecard/1"))


def test_a_review_filled_in_on_the_previous_version_is_still_accepted(login, hotline, world):
    qa = login("qa")
    document = _default_document()
    document["name"] = "v2"
    assert _publish(login("boss"), document).status_code == 302
    assert _submit(qa, world["chen_billing"], GOOD, version=1).status_code == 302
    assert _reviews(hotline)[0].scorecard_version == 1


def test_a_scorecard_can_be_published_as_toml(login, hotline, world):
    toml = """
name = "短表 / Short card"
[[sections]]
id = "all"
title = "全部 / All"
[[sections.questions]]
id = "greeting"
text = "问候 / Greeting"
weight = 1
"""
    assert _publish(login("root"), toml).status_code == 302
    with hotline.sessions() as session:
        assert session.get(ScorecardVersion, 2).document["name"] == "短表 / Short card"


def _question(**fields):
    return {"id": "q", "text": "Q", "weight": 1, **fields}


def _card(*questions, **top):
    return {"name": "c", "sections": [{"id": "s", "title": "S", "questions": list(questions)}], **top}


INVALID_CARDS = [
    ("name = ", ["document: not valid TOML"]),
    ('{"name": ', ["document: not valid JSON"]),
    ("", ["document: is empty"]),
    (_card(_question(weight=-1)), ["questions.q.weight: must be 0 or more, not -1"]),
    (_card(_question(weight="ten")), ["questions.q.weight: must be a number, not 'ten'"]),
    (_card(_question(weight=0)), ["questions.q.weight: is 0, so the question counts for nothing"]),
    (_card(_question(na_allowed="yes")), ["questions.q.na_allowed: must be true or false, not 'yes'"]),
    (_card(_question(auto_fail=1)), ["questions.q.auto_fail: must be true or false, not 1"]),
    (_card(_question(), _question(text="again")), ["questions.q: the question id is used twice"]),
    (_card(_question(id="Bad Id")), ["sections.s.questions[0].id: must be lower-case letters"]),
    (_card(_question(text="")), ["questions.q.text: must be a non-empty text"]),
    (_card(_question(colour="red")), ["questions.q: unknown field 'colour'"]),
    (_card(_question(examples="hey")), ["questions.q.examples: must be a list of non-empty texts"]),
    ({"name": "c", "sections": []}, ["sections: must be a non-empty list of sections"]),
    ({"name": "c", "sections": [{"id": "s", "title": "S", "questions": []}]}, ["sections.s.questions"]),
    (
        {"sections": [{"id": "s", "title": "S", "questions": [_question()]}]},
        ["name: must be a non-empty text"],
    ),
    (
        _card(_question(weight=-1, na_allowed="no"), _question(id="r", text="")),
        ["questions.q.weight", "questions.q.na_allowed", "questions.r.text"],
    ),
]


@pytest.mark.parametrize(("document", "problems"), INVALID_CARDS)
def test_an_invalid_scorecard_is_refused_naming_each_problem(login, hotline, world, document, problems):
    boss = login("boss")
    boss.get("/quality/scorecard")
    response = _publish(boss, document)
    assert response.status_code == 400
    page = html.unescape(_text(response))
    assert "The scorecard was not published" in page
    for problem in problems:
        assert problem in page
    assert _versions(hotline) == 1
    if isinstance(document, str) and document:
        assert document.strip() in page  # the text comes back to be corrected


def test_an_unchanged_scorecard_is_not_published_again(login, hotline, world):
    response = _publish(login("boss"), _default_document())
    assert response.status_code == 400 and "unchanged: it is the same as version 1" in _text(response)
    assert _versions(hotline) == 1


def test_publishing_over_a_newer_version_is_refused(login, hotline, world):
    boss = login("boss")
    boss.get("/quality/scorecard")
    document = _default_document()
    document["name"] = "mine"
    document_2 = {**document, "name": "theirs"}
    assert _publish(boss, document_2).status_code == 302  # someone else's version 2
    stale = _publish(boss, document, based_on=1)
    assert stale.status_code == 409 and "version 2 was published after you opened version 1" in _text(stale)
    assert _versions(hotline) == 2


def test_parse_names_problems_without_a_database():
    with pytest.raises(InvalidScorecard) as refused:
        parse_scorecard(_card(_question(weight=-1), _question(id="q", text="")))
    assert [p.where for p in refused.value.problems] == [
        "questions.q.weight",
        "questions.q",
        "questions.q.text",
    ]


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("username", ["qa", "boss", "root"])
def test_quality_supervisors_and_admins_open_the_sample(login, world, username):
    client = login(username)
    assert client.get("/quality").status_code == 200
    assert client.get(f"/quality/items/{world['chen_billing']}").status_code == 200
    assert client.get("/quality/scorecard").status_code == 200
    home = _text(client.get("/home"))
    assert "/quality" in home and "/quality/scorecard" in home


@pytest.mark.parametrize("username", ["lead", "chen"])
def test_other_roles_cannot_open_the_sample_or_review(login, hotline, world, username):
    client = login(username)
    for path in ("/quality", f"/quality/items/{world['chen_billing']}", "/quality/scorecard"):
        assert client.get(path).status_code == 403, path
    token = _csrf(_text(client.get("/home")))
    form = {"csrf_token": token, "scorecard_version": "1", **{f"answer-{k}": v for k, v in GOOD.items()}}
    assert client.post(f"/quality/items/{world['chen_billing']}/review", data=form).status_code == 403
    assert _reviews(hotline) == []


def test_quality_staff_cannot_publish_a_scorecard(login, hotline, world):
    qa = login("qa")
    token = _csrf(_text(qa.get("/quality/scorecard")))
    document = json.dumps({**_default_document(), "name": "qa's own"})
    response = qa.post(
        "/quality/scorecard", data={"csrf_token": token, "based_on": "1", "document": document}
    )
    assert response.status_code == 403
    assert _versions(hotline) == 1


def test_an_anonymous_visitor_is_sent_to_the_login(app, world):
    response = app.test_client().get("/quality")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_an_agent_sees_only_their_own_reviewed_calls(login, hotline, world):
    qa = login("qa")
    answers = {**GOOD, "greeting": "0"}
    assert (
        _submit(qa, world["chen_billing"], answers, findings="没报公司名", correction="x").status_code == 302
    )
    assert _submit(qa, world["zhao_repair"], GOOD).status_code == 302
    chen_review, zhao_review = _reviews(hotline)
    # chen_safety is chen's too, but not reviewed yet: not shown.

    chen = login("chen")
    assert "/quality/mine" in _text(chen.get("/home"))
    mine = _text(chen.get("/quality/mine"))
    listed = {int(m) for m in re.findall(r'class="reviewed-call" data-review-id="(\d+)"', mine)}
    assert listed == {chen_review.id}
    own = chen.get(f"/quality/reviews/{chen_review.id}")
    assert own.status_code == 200
    assert "没报公司名" in _text(own) and 'id="score">88.2<' in _text(own)
    assert "+8613800000001" not in _text(own)  # the caller's number is not the agent's to see here

    other = chen.get(f"/quality/reviews/{zhao_review.id}")
    assert other.status_code == 403 and "Agents see only their own reviews" in _text(other)
    assert chen.get("/quality/reviews/99999").status_code == 404

    zhao = login("zhao")
    assert {int(m) for m in re.findall(r'data-review-id="(\d+)"', _text(zhao.get("/quality/mine")))} == {
        zhao_review.id
    }


def test_an_agent_without_reviews_is_told_so(login, world):
    page = _text(login("chen").get("/quality/mine"))
    assert "None of your calls has been reviewed yet" in page


def test_staff_open_any_review(login, hotline, world):
    assert _submit(login("qa"), world["zhao_repair"], GOOD).status_code == 302
    [review] = _reviews(hotline)
    assert login("boss").get(f"/quality/reviews/{review.id}").status_code == 200
    assert login("lead").get(f"/quality/reviews/{review.id}").status_code == 403


def test_the_recordings_page_shows_failed_and_absent_recordings_too(world, login, hotline, agents):
    from datetime import datetime as dt
    from zoneinfo import ZoneInfo

    from ivr.db.models import Recording

    noon = (
        dt(2026, 3, 9, 12, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    )
    with unit_of_work(hotline.sessions) as session:
        session.add_all(
            [
                Recording(
                    recording_sid="REfail",
                    call_sid="CAfail",
                    agent_id=agents["chen"],
                    status="failed",
                    error="Twilio 13617",
                    started_at=noon,
                ),
                Recording(
                    recording_sid=None,
                    call_sid="CAabsent",
                    agent_id=agents["zhao"],
                    status="absent",
                    started_at=noon,
                ),
            ]
        )
    page = login("qa").get("/quality/recordings?date=2026-03-09").get_data(as_text=True)
    assert 'class="recording-failed"' in page and "Twilio 13617" in page
    assert 'class="recording-absent"' in page
    assert "failed: <strong>1</strong>" in page and "absent: <strong>1</strong>" in page
    assert login("qa").get("/quality/recordings?date=nope").status_code == 400
