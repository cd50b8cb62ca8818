"""Announcements and storm mode: validation, changes with their audit entries, who hears what and where in
the greeting, the cache, the storm offer to waiting callers, the untouched gas-leak path, and the page."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from ivr.configuration import announcements as notices
from ivr.configuration.announcements import (
    MAX_PER_CALL,
    AnnouncementCache,
    AnnouncementClosed,
    AnnouncementInput,
    AnnouncementNotFound,
    InvalidAnnouncement,
    Live,
    active_for,
    cache_of,
)
from ivr.db.models import Agent, Announcement, Call, CallEvent, ChangeLog, QueueEntry, Switch, utcnow
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.queueing.storm import set_storm, storm_state
from tests.helpers import action_of, count, new_call_sid, spoken, twiml

LANGUAGES = ["zh-CN", "en-US"]
ZH = "今晚22点至次日6点，朝阳区部分小区计划停气检修。"
EN = "Gas supply in parts of Chaoyang is off for maintenance from 22:00 tonight to 06:00 tomorrow."
CALLER = "+8613800000001"  # 王芳, a demo customer in the district 朝阳
STRANGER = "+8613912345678"  # no customer
PASSWORD = "correct horse battery"


def _given(**changes):
    now = utcnow()
    fields = {
        "texts": {"zh-CN": ZH, "en-US": EN},
        "starts_at": now - timedelta(minutes=5),
        "ends_at": now + timedelta(hours=2),
    }
    fields.update(changes)
    return AnnouncementInput(**fields)


def _create(hotline, who="boss", **changes):
    with unit_of_work(hotline.sessions) as session:
        return notices.create(session, _given(**changes), who=who, languages=LANGUAGES).id


def _storm(hotline, on, who="boss"):
    with unit_of_work(hotline.sessions) as session:
        return set_storm(session, on, who=who)


def _fresh(app):
    """What a process sees after the cache's refresh interval (the page does this after each change)."""
    cache_of(app.extensions, app.extensions["hotline"].sessions).invalidate()


def _says(root):
    return [say.text for say in root.iter("Say")]


# ---------------------------------------------------------------- validation and changes


def test_every_problem_is_named_and_nothing_is_stored(hotline):
    now = utcnow()
    given = AnnouncementInput(
        texts={"zh-CN": "  ", "en-US": "x" * 501, "fr-FR": "bonjour"},
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(hours=3),
        everyone=False,
        numbers=("12345", "+8613800000001"),
        districts=("  ",),
    )
    with pytest.raises(InvalidAnnouncement) as refused, unit_of_work(hotline.sessions) as session:
        notices.create(session, given, who="boss", languages=LANGUAGES)
    problems = "\n".join(refused.value.problems)
    assert "zh-CN: 请填写通知内容 / the text is empty" in problems
    assert "en-US" in problems and "501 characters, at most 500" in problems
    assert "fr-FR" in problems and "does not offer this language" in problems
    assert "the end must come after the start" in problems and "the end must be in the future" in problems
    assert "'12345' is not a phone number" in problems and "a district is empty" in problems
    with hotline.sessions() as session:
        assert count(session, Announcement) == 0 and count(session, ChangeLog) == 0


def test_a_target_must_be_all_callers_or_name_someone(hotline):
    with pytest.raises(InvalidAnnouncement, match="give at least one number or district"):
        notices.check(_given(everyone=False), languages=LANGUAGES, now=utcnow())
    with pytest.raises(InvalidAnnouncement, match="takes no numbers or districts"):
        notices.check(_given(everyone=True, districts=("朝阳",)), languages=LANGUAGES, now=utcnow())


def test_numbers_are_stored_in_e164_once_and_districts_trimmed(hotline):
    checked = notices.check(
        _given(everyone=False, numbers=("138 0000 0001", "+8613800000001"), districts=(" 朝阳 ", "朝阳")),
        languages=LANGUAGES,
        now=utcnow(),
    )
    assert checked["target"] == {"numbers": ["+8613800000001"], "districts": ["朝阳"]}


def test_create_edit_and_end_are_each_logged_with_before_and_after(hotline):
    announcement = _create(hotline)
    with unit_of_work(hotline.sessions) as session:
        notices.edit(
            session,
            announcement,
            _given(texts={"zh-CN": "新的通知", "en-US": "A new notice"}),
            who="root",
            languages=LANGUAGES,
        )
    with unit_of_work(hotline.sessions) as session:
        notices.end(session, announcement, who="boss")
    with hotline.sessions() as session:
        row = session.get(Announcement, announcement)
        log = session.scalars(select(ChangeLog).order_by(ChangeLog.id)).all()
    assert row.ended_at is not None and row.texts["zh-CN"] == "新的通知" and row.created_by == "boss"
    assert [(e.who, e.kind, e.action) for e in log] == [
        ("boss", "announcement", "create"),
        ("root", "announcement", "edit"),
        ("boss", "announcement", "end"),
    ]
    assert log[0].before is None and log[0].after["texts"]["zh-CN"] == ZH
    assert log[1].before["texts"]["zh-CN"] == ZH and log[1].after["texts"]["zh-CN"] == "新的通知"
    assert log[2].before["ended_at"] is None and log[2].after["ended_at"] is not None
    assert all(e.subject == f"announcement {announcement}" for e in log)


def test_an_ended_announcement_cannot_be_edited_or_ended_again(hotline):
    announcement = _create(hotline)
    with unit_of_work(hotline.sessions) as session:
        notices.end(session, announcement, who="boss")
    with pytest.raises(AnnouncementClosed), unit_of_work(hotline.sessions) as session:
        notices.edit(session, announcement, _given(), who="boss", languages=LANGUAGES)
    with pytest.raises(AnnouncementClosed), unit_of_work(hotline.sessions) as session:
        notices.end(session, announcement, who="boss")
    with pytest.raises(AnnouncementNotFound), unit_of_work(hotline.sessions) as session:
        notices.end(session, 9999, who="boss")
    with hotline.sessions() as session:
        assert count(session, ChangeLog) == 2  # create and the one end


def test_an_edit_that_changes_nothing_writes_no_log_entry(hotline):
    given = _given()
    with unit_of_work(hotline.sessions) as session:
        announcement = notices.create(session, given, who="boss", languages=LANGUAGES).id
    with unit_of_work(hotline.sessions) as session:
        notices.edit(session, announcement, given, who="boss", languages=LANGUAGES)
    with hotline.sessions() as session:
        assert count(session, ChangeLog) == 1


def test_storm_switch_is_logged_once_per_change(hotline):
    with hotline.sessions() as session:
        assert storm_state(session).on is False
    assert _storm(hotline, True, who="boss") is True
    assert _storm(hotline, True, who="root") is False, "pressing twice changes nothing"
    assert _storm(hotline, False, who="root") is True
    with hotline.sessions() as session:
        state = storm_state(session)
        log = session.scalars(select(ChangeLog).order_by(ChangeLog.id)).all()
    assert state.on is False and state.set_by == "root" and state.set_at is not None
    assert [(e.who, e.kind, e.action, e.before["on"], e.after["on"]) for e in log] == [
        ("boss", "storm", "on", False, True),
        ("root", "storm", "off", True, False),
    ]


# ---------------------------------------------------------------- who hears what


def _live(id_, **changes):
    now = utcnow()
    fields = {
        "id": id_,
        "texts": {"zh-CN": f"通知{id_}"},
        "starts_at": now - timedelta(minutes=1),
        "ends_at": now + timedelta(hours=1),
    }
    fields.update(changes)
    return Live(**fields)


def test_targets_match_numbers_or_districts_and_the_window_is_start_to_end():
    now = utcnow()
    everyone = _live(1)
    by_number = _live(2, numbers=frozenset({CALLER}))
    by_district = _live(3, districts=frozenset({"朝阳"}))
    later = _live(4, starts_at=now + timedelta(minutes=1))
    over = _live(5, ends_at=now)
    shown = [everyone, by_number, by_district, later, over]
    assert [a.id for a in active_for(shown, CALLER, "朝阳", now)] == [2, 3, 1], "aimed at them first"
    assert [a.id for a in active_for(shown, "13800000001", None, now)] == [2, 1], "a mobile is made +86"
    assert [a.id for a in active_for(shown, STRANGER, "海淀", now)] == [1]
    assert [a.id for a in active_for(shown, "anonymous", None, now + timedelta(minutes=1))] == [1, 4]
    many = [_live(i) for i in range(10)]
    assert len(active_for(many, CALLER, None, now)) == MAX_PER_CALL


def test_the_cache_reads_every_few_seconds_and_ends_announcements_on_time(hotline):
    clock = [100.0]
    cache = AnnouncementCache(hotline.sessions, refresh_seconds=5, clock=lambda: clock[0])
    assert cache.active_for(CALLER) == []
    first = _create(hotline)
    assert cache.active_for(CALLER) == [], "not read again within the interval"
    clock[0] += 6
    [heard] = cache.active_for(CALLER)
    assert heard.id == first
    assert cache.active_for(CALLER, now=heard.ends_at - timedelta(seconds=1))
    assert cache.active_for(CALLER, now=heard.ends_at) == [], "it ends on its own, without a refresh"
    _storm(hotline, True)
    cache.invalidate()
    assert cache.snapshot().storm is True


def test_the_cache_keeps_the_last_state_while_the_database_is_away(outage_hotline):
    hotline, outage = outage_hotline
    _create(hotline, everyone=False, districts=("朝阳",))
    _create(hotline, texts={"zh-CN": "全体通知", "en-US": "For all"})
    _storm(hotline, True)
    clock = [0.0]
    cache = AnnouncementCache(hotline.sessions, refresh_seconds=5, clock=lambda: clock[0])
    assert len(cache.active_for(CALLER)) == 2, "the district is looked up while the database answers"
    outage.stop()
    try:
        clock[0] += 6
        snapshot = cache.snapshot()
        assert snapshot.healthy is False and snapshot.storm is True and len(snapshot.announcements) == 2
        # The district cannot be looked up: only the announcement for everyone is spoken.
        assert [a.texts["zh-CN"] for a in cache.active_for(CALLER)] == ["全体通知"]
    finally:
        outage.start()
    clock[0] += 6
    assert cache.snapshot().healthy is True


# ---------------------------------------------------------------- in the call


def test_announcement_is_spoken_after_the_greeting_and_before_the_menu_inside_the_gather(twilio, hotline):
    announcement = _create(hotline)
    sid = new_call_sid()
    root = twiml(twilio.post("/voice/incoming", call_sid=sid))
    says = [say.text for say in root.findall("Gather/Say")]
    assert "华夏燃气" in says[0] and "For English, press 9" in says[1]
    assert says[2] == ZH and "账单和缴费请按1" in says[3]
    assert root.findall("Gather/Say")[2].get("voice") == "Polly.Zhiyu-Neural"
    with hotline.sessions() as session:
        started = session.scalar(select(CallEvent).where(CallEvent.call_sid == sid))
    assert started.kind == "call.started" and started.data["announcements"] == [announcement]


def test_a_menu_repeat_does_not_repeat_the_announcement(twilio, hotline):
    _create(hotline)
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid))
    assert ZH in _says(first)
    again = twiml(twilio.post(action_of(first), {"Digits": "7"}, call_sid=sid))
    assert "无效" in spoken(again) and ZH not in _says(again)


def test_choosing_english_hears_the_announcement_in_english(twilio, hotline):
    announcement = _create(hotline)
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid))
    english = twiml(twilio.post(action_of(first), {"Digits": "9"}, call_sid=sid))
    says = _says(english)
    menu = next(i for i, text in enumerate(says) if "For bills and payments" in text)
    assert "Huaxia Gas" in says[0] and says.index(EN) < menu
    with hotline.sessions() as session:
        played = session.scalar(select(CallEvent).where(CallEvent.kind == "announcements.played"))
    assert played.call_sid == sid and played.data["announcements"] == [announcement]


def test_targeted_announcements_reach_only_their_callers(twilio, hotline):
    _create(hotline, texts={"zh-CN": "朝阳区通知", "en-US": "Chaoyang"}, everyone=False, districts=("朝阳",))
    _create(hotline, texts={"zh-CN": "号码通知", "en-US": "Number"}, everyone=False, numbers=(STRANGER,))
    customer = _says(twiml(twilio.post("/voice/incoming", caller=CALLER)))
    stranger = _says(twiml(twilio.post("/voice/incoming", caller=STRANGER)))
    other = _says(twiml(twilio.post("/voice/incoming", caller="+8613800000002")))
    assert "朝阳区通知" in customer and "号码通知" not in customer
    assert "号码通知" in stranger and "朝阳区通知" not in stranger
    assert "号码通知" not in other and "朝阳区通知" not in other


def test_an_edited_or_ended_announcement_is_heard_as_it_now_is(app, twilio, hotline):
    announcement = _create(hotline)
    assert ZH in _says(twiml(twilio.post("/voice/incoming")))
    with unit_of_work(hotline.sessions) as session:
        notices.edit(
            session,
            announcement,
            _given(texts={"zh-CN": "更新后的通知", "en-US": "Updated"}),
            who="boss",
            languages=LANGUAGES,
        )
    _fresh(app)
    says = _says(twiml(twilio.post("/voice/incoming")))
    assert "更新后的通知" in says and ZH not in says, "the cached document is keyed by the text too"
    with unit_of_work(hotline.sessions) as session:
        notices.end(session, announcement, who="boss")
    _fresh(app)
    assert "更新后的通知" not in _says(twiml(twilio.post("/voice/incoming")))


def test_storm_mode_speaks_the_gas_key_then_the_announcements_then_the_greeting(app, twilio, hotline):
    _create(hotline)
    _storm(hotline, True)
    _fresh(app)
    says = [say.text for say in twiml(twilio.post("/voice/incoming")).findall("Gather/Say")]
    assert says[0] == "如果您闻到燃气味，请立即按2。"
    assert says[1] == ZH and "华夏燃气" in says[2] and "账单和缴费请按1" in says[-1]


def test_storm_mode_without_announcements_changes_no_greeting(app, twilio, hotline):
    calm = twilio.post("/voice/incoming").get_data()
    _storm(hotline, True)
    _fresh(app)
    assert twilio.post("/voice/incoming").get_data() == calm


def test_a_broken_announcement_store_never_breaks_the_greeting(app, twilio, hotline, monkeypatch):
    _create(hotline)

    def broken(*args, **kwargs):
        raise RuntimeError("announcements broken")

    monkeypatch.setattr(AnnouncementCache, "active_for", broken)
    root = twiml(twilio.post("/voice/incoming"))
    assert "华夏燃气" in spoken(root) and ZH not in spoken(root)


# ---------------------------------------------------------------- the gas-leak path, storm on and off


def _safety_path(twilio):
    """Every document a gas-leak caller can get, in order (bytes)."""
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid))
    documents = []
    for params in ({"Digits": "2"}, {"SpeechResult": "我家燃气泄漏了"}):
        documents.append(twilio.post(action_of(first), params, call_sid=sid).get_data())
    for waited in ("0", "20", "59", "60"):
        form = {"QueuePosition": "3", "QueueTime": waited}
        documents.append(twilio.post("/voice/wait?q=safety&l=zh-CN&e=1", form, call_sid=sid).get_data())
    for result in ("leave", "queue-full", "error"):
        form = {"QueueResult": result, "QueueTime": "60"}
        documents.append(twilio.post("/voice/queue-exit?q=safety&l=zh-CN&e=1", form, call_sid=sid).get_data())
    for status in ("no-answer", "busy", "completed"):
        form = {"DialCallStatus": status}
        documents.append(twilio.post("/voice/dial-result?l=zh-CN&a=1", form, call_sid=sid).get_data())
    # the call ends, so the next run's caller is alone in the safety queue and hears the same place
    twilio.post("/voice/status", {"CallStatus": "completed", "CallDuration": "90"}, call_sid=sid)
    return documents


def test_the_gas_leak_path_is_byte_for_byte_the_same_in_storm_mode(app, twilio, hotline):
    now = time.time()
    hotline.clock = lambda: now  # both runs on one second: the signed duty-dial deadline is whole seconds
    with hotline.sessions() as session, session.begin():  # every agent busy: the longest waits
        session.execute(update(Agent).values(state="on_call"))
    calm = _safety_path(twilio)
    _create(hotline)
    _storm(hotline, True)
    _fresh(app)
    stormy = _safety_path(twilio)
    assert stormy == calm
    assert b"Dial" in calm[-4] and b"Leave" in calm[5], "the path reached the duty engineer"
    with hotline.sessions() as session:
        safety = session.scalars(select(QueueEntry).where(QueueEntry.emergency.is_(True))).all()
    assert safety and not any(entry.callback_offered for entry in safety), "never offered anything"


# ---------------------------------------------------------------- storm mode for waiting callers


def _billing_caller(twilio, hotline, caller=CALLER):
    """A billing caller queued while every billing agent is busy: an estimated wait of minutes."""
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="on_call"))
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid, caller=caller))
    billing = twiml(twilio.post(action_of(first), {"Digits": "1"}, call_sid=sid, caller=caller))
    queued = twiml(twilio.post(action_of(billing), {"Digits": "0"}, call_sid=sid, caller=caller))
    wait_url = queued.find("Enqueue").get("waitUrl")
    return sid, wait_url, queued.find("Enqueue").get("action")


def _wait(twilio, url, sid, caller=CALLER):
    return twiml(twilio.post(url, {"QueuePosition": "1", "QueueTime": "5"}, call_sid=sid, caller=caller))


def _entry(hotline, sid):
    with hotline.sessions() as session:
        return session.scalar(select(QueueEntry).where(QueueEntry.call_sid == sid))


def test_in_storm_mode_a_long_wait_is_offered_a_call_back_or_a_message_once(app, twilio, hotline):
    _storm(hotline, True)
    _fresh(app)
    sid, wait_url, _ = _billing_caller(twilio, hotline)
    offer = _wait(twilio, wait_url, sid)
    assert "如需留言，请按2" in spoken(offer) and "/voice/storm-offer" in offer.find("Gather").get("action")
    assert offer.find("Gather").get("numDigits") == "1" and offer.find("Pause") is not None
    again = _wait(twilio, wait_url, sid)
    assert again.find("Gather") is None and "留言" not in spoken(again), "offered once"
    assert _entry(hotline, sid).callback_offered


def test_storm_mode_off_makes_no_storm_offer(twilio, hotline):
    sid, wait_url, _ = _billing_caller(twilio, hotline)
    assert "留言" not in spoken(_wait(twilio, wait_url, sid))


def test_a_short_wait_is_not_interrupted_in_storm_mode(app, twilio, hotline, monkeypatch):
    monkeypatch.setattr(hotline, "settings", hotline.settings.with_overrides(storm_offer_seconds=600))
    _storm(hotline, True)
    _fresh(app)
    sid, wait_url, _ = _billing_caller(twilio, hotline)
    assert "留言" not in spoken(_wait(twilio, wait_url, sid))
    assert not _entry(hotline, sid).callback_offered


def test_a_storm_message_is_recorded_and_a_call_back_is_owed(app, twilio, hotline):
    _storm(hotline, True)
    _fresh(app)
    sid, wait_url, exit_url = _billing_caller(twilio, hotline)
    offer = _wait(twilio, wait_url, sid)
    leave = twiml(twilio.post(action_of(offer), {"Digits": "2"}, call_sid=sid))
    assert [child.tag for child in leave] == ["Leave"]
    entry = _entry(hotline, sid)
    assert entry.status == "callback" and entry.callback_number == CALLER
    assert entry.callback_after > utcnow(), "no call-back while the message is being left"

    record = twiml(twilio.post(exit_url, {"QueueResult": "leave", "QueueTime": "40"}, call_sid=sid))
    assert "请在提示音后留言" in spoken(record)
    assert record.find("Record").get("maxLength") == "120" and record.find("Redirect") is not None
    recording = {
        "RecordingUrl": "https://api.twilio.com/rec/RE1",
        "RecordingSid": "RE1",
        "RecordingDuration": "9",
    }
    done = twiml(twilio.post(record.find("Record").get("action"), recording, call_sid=sid))
    assert "您的留言已收到" in spoken(done) and done.find("Hangup") is not None

    entry = _entry(hotline, sid)
    assert entry.status == "callback" and entry.callback_after <= utcnow(), (
        "called back when an agent is free"
    )
    with hotline.sessions() as session:
        message = session.scalar(
            select(CallEvent).where(CallEvent.call_sid == sid, CallEvent.kind == "voicemail")
        )
        call = session.scalar(select(Call).where(Call.call_sid == sid))
    assert message.data["RecordingSid"] == "RE1" and message.data["storm"] is True
    assert call.outcome == "callback-owed" and call.reply_due_at is not None


def test_pressing_1_at_the_storm_offer_confirms_the_number_for_a_call_back(app, twilio, hotline):
    _storm(hotline, True)
    _fresh(app)
    sid, wait_url, _ = _billing_caller(twilio, hotline)
    offer = _wait(twilio, wait_url, sid)
    confirm = twiml(twilio.post(action_of(offer), {"Digits": "1"}, call_sid=sid))
    assert "我们将回电至" in spoken(confirm) and "/voice/callback-confirm" in action_of(confirm)
    booked = twiml(twilio.post(action_of(confirm), {"Digits": "1"}, call_sid=sid))
    assert booked.find("Hangup") is not None and _entry(hotline, sid).status == "callback"


@pytest.mark.parametrize("digits", ["", "3", "9"])
def test_any_other_answer_keeps_the_caller_waiting(app, twilio, hotline, digits):
    _storm(hotline, True)
    _fresh(app)
    sid, wait_url, _ = _billing_caller(twilio, hotline)
    offer = _wait(twilio, wait_url, sid)
    kept = twiml(twilio.post(action_of(offer), {"Digits": digits} if digits else {}, call_sid=sid))
    assert list(kept) == [] and _entry(hotline, sid).status == "waiting"


def test_a_message_is_not_booked_for_a_caller_an_agent_is_ringing_for(app, twilio, hotline):
    _storm(hotline, True)
    _fresh(app)
    sid, wait_url, _ = _billing_caller(twilio, hotline)
    offer = _wait(twilio, wait_url, sid)
    with hotline.sessions() as session, session.begin():
        session.execute(update(QueueEntry).where(QueueEntry.call_sid == sid).values(status="offered"))
    kept = twiml(twilio.post(action_of(offer), {"Digits": "2"}, call_sid=sid))
    assert kept.find("Leave") is None and _entry(hotline, sid).status == "offered"


# ---------------------------------------------------------------- the page


@pytest.fixture
def client(app):
    app.config["SECRET_KEY"] = "test-secret-key"
    return app.test_client()


def _user(hotline, username, role):
    with unit_of_work(hotline.sessions) as session:
        seat = session.scalar(select(Agent.id).order_by(Agent.id).limit(1)) if role == "agent" else None
        create_user(session, username=username, role=role, password=PASSWORD, agent_id=seat)


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _login(client, hotline, username, role):
    _user(hotline, username, role)
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def _post(client, path, data):
    token = _csrf(client.get("/console/announcements").get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def _form(**changes):
    now = datetime.now() + timedelta(days=1)  # a local time comfortably in the future, whatever the zone
    form = {
        "text_zh-CN": ZH,
        "text_en-US": EN,
        "starts_at": "2026-01-01T08:00",
        "ends_at": now.strftime("%Y-%m-%dT%H:%M"),
        "target": "everyone",
    }
    form.update(changes)
    return form


@pytest.mark.parametrize("role", ["agent", "quality", "shift_lead"])
def test_only_supervisors_and_admins_open_the_page_or_change_anything(client, hotline, role):
    announcement = _create(hotline)
    _login(client, hotline, "someone", role)
    assert client.get("/console/announcements").status_code == 403
    assert client.get(f"/console/announcements/{announcement}").status_code == 403
    token = _csrf(client.get("/home").get_data(as_text=True))  # the logout form's token
    for path, data in [
        ("/console/announcements", _form()),
        (f"/console/announcements/{announcement}", _form()),
        (f"/console/announcements/{announcement}/end", {}),
        ("/console/announcements/storm", {"on": "1"}),
    ]:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    with hotline.sessions() as session:
        assert count(session, Announcement) == 1 and count(session, ChangeLog) == 1
        assert count(session, Switch) == 0


def test_an_anonymous_visitor_is_sent_to_the_login(client):
    response = client.get("/console/announcements")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_a_supervisor_or_admin_creates_an_announcement_in_local_time(client, hotline, role):
    _login(client, hotline, "boss", role)
    page = client.get("/console/announcements").get_data(as_text=True)
    assert "通知与风暴模式" in page and 'name="text_en-US"' in page and "关闭 / off" in page
    form = _form(target="some", numbers="+8613800000001\n13900000000", districts="朝阳，海淀")
    response = _post(client, "/console/announcements", form)
    assert response.status_code == 302
    with hotline.sessions() as session:
        row = session.scalar(select(Announcement))
        log = session.scalar(select(ChangeLog))
    assert row.starts_at == datetime(2026, 1, 1, 0, 0), "08:00 in Asia/Shanghai is 00:00 UTC"
    assert row.target == {"numbers": ["+8613800000001", "+8613900000000"], "districts": ["朝阳", "海淀"]}
    assert row.created_by == "boss" and (log.who, log.action) == ("boss", "create")
    listed = client.get("/console/announcements").get_data(as_text=True)
    assert ZH in listed and "2026-01-01 08:00:00" in listed and "已保存" in listed


def test_a_wrong_form_is_refused_with_every_problem_and_nothing_stored(client, hotline):
    _login(client, hotline, "boss", "supervisor")
    form = _form(**{"text_en-US": "", "starts_at": "tomorrow", "target": "some", "numbers": "12345"})
    response = _post(client, "/console/announcements", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "en-US: 请填写通知内容" in page and "the start must be a date and time" in page
    assert "&#39;12345&#39; is not a phone number" in page and ZH in page, "the typed text is kept"
    with hotline.sessions() as session:
        assert count(session, Announcement) == 0 and count(session, ChangeLog) == 0


def test_edit_then_end_from_the_page(app, client, hotline, twilio):
    announcement = _create(hotline)
    _login(client, hotline, "root", "admin")
    edit_page = client.get(f"/console/announcements/{announcement}").get_data(as_text=True)
    assert ZH in edit_page and "立即结束" in edit_page
    response = _post(client, f"/console/announcements/{announcement}", _form(**{"text_zh-CN": "改过的通知"}))
    assert response.status_code == 302
    assert "改过的通知" in _says(twiml(twilio.post("/voice/incoming"))), (
        "this process hears the change at once"
    )
    assert _post(client, f"/console/announcements/{announcement}/end", {}).status_code == 302
    assert "改过的通知" not in _says(twiml(twilio.post("/voice/incoming")))
    refused = _post(client, f"/console/announcements/{announcement}", _form())
    assert refused.status_code == 400 and "can no longer be changed" in refused.get_data(as_text=True)
    with hotline.sessions() as session:
        actions = session.scalars(select(ChangeLog.action).order_by(ChangeLog.id)).all()
    assert actions == ["create", "edit", "end"]


def test_an_unknown_announcement_is_a_404(client, hotline):
    _login(client, hotline, "boss", "supervisor")
    assert client.get("/console/announcements/999").status_code == 404
    assert _post(client, "/console/announcements/999", _form()).status_code == 404
    assert _post(client, "/console/announcements/999/end", {}).status_code == 404


def test_the_storm_button_switches_and_shows_who_and_when(app, client, hotline, twilio):
    _create(hotline)
    _login(client, hotline, "boss", "supervisor")
    assert _post(client, "/console/announcements/storm", {"on": "1"}).status_code == 302
    page = client.get("/console/announcements").get_data(as_text=True)
    assert "开启 / ON" in page and "set by boss" in page and "关闭风暴模式" in page
    assert _says(twiml(twilio.post("/voice/incoming")))[0] == "如果您闻到燃气味，请立即按2。"
    assert _post(client, "/console/announcements/storm", {"on": "1"}).status_code == 302
    assert _post(client, "/console/announcements/storm", {"on": "maybe"}).status_code == 400
    with hotline.sessions() as session:
        assert count(session, ChangeLog, ChangeLog.kind == "storm") == 1


def test_a_post_without_the_csrf_token_is_refused(client, hotline):
    _login(client, hotline, "boss", "supervisor")
    assert client.post("/console/announcements/storm", data={"on": "1"}).status_code == 400
    assert client.post("/console/announcements", data=_form()).status_code == 400
    with hotline.sessions() as session:
        assert count(session, Switch) == 0 and count(session, Announcement) == 0


def test_the_home_page_links_to_the_announcements(client, hotline):
    _login(client, hotline, "boss", "supervisor")
    assert "/console/announcements" in client.get("/home").get_data(as_text=True)
