"""Customers (issue 17, point 2) on SQLite and PostgreSQL: numbers the IVR finds a caller by, the CSV
import with its report per row, the sync API, the search, the customer page and its logged edits, the CLI."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from ivr.calls.menu_actions import ActionContext, account_balance, caller_balance
from ivr.cli.main import cli
from ivr.customers.imports import ImportRefused, import_customers
from ivr.customers.records import CustomerRecord
from ivr.customers.search import find_customers
from ivr.customers.sync import numbers_of, store_customer
from ivr.db.models import (
    Agent,
    Call,
    CallbackAttempt,
    CallbackCandidate,
    CallbackJob,
    ChangeLog,
    Customer,
    CustomerNumber,
    ServiceCompletion,
    SurveyResponse,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.work_orders.orders import open_work_order
from ivr.work_orders.search import search
from tests.helpers import action_of, new_call_sid, spoken, twiml

PASSWORD = "correct horse battery"
LI_QIANG = "10000002"  # demo: +8613800000002, balance -46.20
SECOND = "+8613911110002"  # a second number given to 李强 by the tests
HEADER = "account,name,numbers,address,district,class,language\n"


def customer(hotline, account):
    with hotline.sessions() as session:
        found = session.scalar(select(Customer).where(Customer.account_number == account))
        if found is None:
            return None
        session.expunge(found)
        return found


def numbers(hotline, account):
    with hotline.sessions() as session:
        found = session.scalar(select(Customer.id).where(Customer.account_number == account))
        return numbers_of(session, found)


def give_second_number(hotline):
    with unit_of_work(hotline.sessions) as session:
        record = CustomerRecord(account=LI_QIANG, numbers=("+8613800000002", SECOND))
        assert store_customer(session, record, who="test").result == "updated"


def count(hotline, table):
    with hotline.sessions() as session:
        return session.scalar(select(func.count()).select_from(table))


# ---------------------------------------------------------------- numbers: the IVR finds a caller by any


def test_demo_customers_have_their_phone_as_their_one_number(hotline):
    assert numbers(hotline, LI_QIANG) == ["+8613800000002"]


def test_a_caller_on_a_second_number_is_matched_and_hears_their_balance(hotline, twilio):
    give_second_number(hotline)
    call_sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=call_sid, caller=SECOND))
    assert first is not None
    with hotline.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        assert call.customer_id == customer(hotline, LI_QIANG).id  # matched inside the call record's INSERT
        context = ActionContext(call_sid=call_sid, caller=SECOND, step=1)
        said = caller_balance(session, context, "")
        assert said.found and ("amount", "46.20") in said.values
        # Keying the account from its own second number reads the figures with no second factor.
        assert account_balance(session, context, LI_QIANG).found


def test_the_balance_menu_reads_the_figures_to_the_second_number(hotline, twilio):
    give_second_number(hotline)
    call_sid = new_call_sid()
    document = twiml(twilio.post("/voice/incoming", call_sid=call_sid, caller=SECOND))
    for keyed in ("1", "4"):
        action = action_of(document)
        document = twiml(twilio.post(action, {"Digits": keyed}, call_sid=call_sid, caller=SECOND))
    assert "欠费46.20元" in spoken(document)


def test_the_caller_lookup_is_an_index_lookup_on_postgresql(hotline):
    if hotline.engine.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    rows = [{"account": f"3{n:07d}", "name": f"客户{n}", "phone": f"+86139{n:08d}"} for n in range(5000)]
    with hotline.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (account_number, name, phone, address, district,"
                " customer_class, balance, language) VALUES (:account, :name, :phone, '', '',"
                " 'residential', 0, 'zh-CN')"
            ),
            rows,
        )
        connection.execute(
            text(
                "INSERT INTO customer_numbers (customer_id, phone, position)"
                " SELECT id, phone, 0 FROM customers WHERE account_number LIKE '3%'"
            )
        )
        connection.execute(text("ANALYZE customers"))
        connection.execute(text("ANALYZE customer_numbers"))
    statement = select(Customer.id).where(Customer.with_number("+8613900004321"))
    with hotline.engine.connect() as connection:
        compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
        assert connection.execute(statement).scalar() is not None
    assert "ux_customer_numbers_phone" in plan and "Seq Scan" not in plan, plan


# ---------------------------------------------------------------- storing a record


def test_a_number_on_another_account_refuses_the_whole_record(hotline):
    with unit_of_work(hotline.sessions) as session:
        record = CustomerRecord(account=LI_QIANG, name="李强强", numbers=("+8613800000001",))
        outcome = store_customer(session, record, who="test")
    assert outcome.result == "refused"
    assert outcome.why == "numbers: +8613800000001 is already a number of account 10000001"
    assert customer(hotline, LI_QIANG).name == "李强"  # the name in the same record was not stored either
    assert numbers(hotline, LI_QIANG) == ["+8613800000002"]


def test_an_update_logs_only_what_changed_and_the_same_record_again_is_unchanged(hotline):
    record = CustomerRecord(account=LI_QIANG, numbers=(SECOND, "+8613800000002"), district="西城")
    with unit_of_work(hotline.sessions) as session:
        first = store_customer(session, record, who="alice")
    with unit_of_work(hotline.sessions) as session:
        again = store_customer(session, record, who="alice")
    assert (first.result, first.changed) == ("updated", ("numbers", "district"))
    assert again.result == "unchanged"
    stored = customer(hotline, LI_QIANG)
    assert stored.phone == SECOND and stored.district == "西城"  # the first number is the main one
    with hotline.sessions() as session:
        entries = session.scalars(select(ChangeLog).where(ChangeLog.kind == "customer")).all()
    assert [(e.who, e.action) for e in entries] == [("alice", "update")]
    assert entries[0].before == {"numbers": ["+8613800000002"], "district": "海淀"}
    assert entries[0].after == {"numbers": [SECOND, "+8613800000002"], "district": "西城"}


# ---------------------------------------------------------------- the CSV import


def test_the_import_reports_each_row_and_never_duplicates(hotline):
    text = HEADER + (
        "20000001,赵六,13900000011; 010-65123456,东城区一号,东城,residential,zh-CN\n"  # new
        "10000002,李强,,,西城,,\n"  # empty cells keep; the district changes
        "10000003,,,,,,\n"  # nothing but the account: unchanged
        "20000002,钱七,13800000001,,,,\n"  # 王芳's number
        "20000003,孙八,12345,,,,\n"  # not a number
        "20000001,赵六,,,,,\n"  # the same account again
        "20000004,,,,,,\n"  # a new account needs a name
        "20000005,周九,,,,industrial,\n"
    )
    report = import_customers(hotline.sessions, text, who="sup", dry_run=False)
    rows = [(row.line, row.account, row.result) for row in report.rows]
    assert rows == [
        (2, "20000001", "created"),
        (3, "10000002", "updated"),
        (4, "10000003", "unchanged"),
        (5, "20000002", "refused"),
        (6, "20000003", "refused"),
        (7, "20000001", "refused"),
        (8, "20000004", "refused"),
        (9, "20000005", "refused"),
    ]
    whys = [row.why for row in report.rows]
    assert whys[3] == "numbers: +8613800000001 is already a number of account 10000001"
    assert "'12345' is not a phone number" in whys[4]
    assert whys[5] == "account 20000001 is also on line 2"
    assert whys[6] == "name: is required for a new account"
    assert "industrial" in whys[7]
    assert report.rows[1].changed == ("district",)
    assert numbers(hotline, "20000001") == ["+8613900000011", "+861065123456"]
    assert customer(hotline, "20000002") is None and customer(hotline, "20000004") is None
    assert customer(hotline, LI_QIANG).address == "海淀区中关村大街27号2-1102"  # an empty cell kept it
    # Imported again: nothing new, nothing duplicated.
    before = count(hotline, Customer), count(hotline, CustomerNumber)
    again = import_customers(hotline.sessions, text, who="sup")
    assert [row.result for row in again.rows][:3] == ["unchanged", "unchanged", "unchanged"]
    assert (count(hotline, Customer), count(hotline, CustomerNumber)) == before


def test_a_dry_run_reports_the_same_and_stores_nothing(hotline):
    text = HEADER + "20000001,赵六,13900000011,,,,\n20000002,钱七,13900000011,,,,\n"
    before = count(hotline, Customer), count(hotline, CustomerNumber), count(hotline, ChangeLog)
    report = import_customers(hotline.sessions, text, who="sup", dry_run=True)
    # The preview knows the file's earlier rows: the second row's number is the first row's.
    assert [(row.result, row.why) for row in report.rows] == [
        ("created", ""),
        ("refused", "numbers: +8613900000011 is also on line 2, for account 20000001"),
    ]
    assert (count(hotline, Customer), count(hotline, CustomerNumber), count(hotline, ChangeLog)) == before


def test_a_file_of_several_batches_is_all_stored_and_its_preview_stores_nothing(hotline):
    from ivr.customers.imports import BATCH

    rows = [f"3{n:07d},客户{n},139{n:08d},,,," for n in range(BATCH * 2 + 7)]
    rows[BATCH + 3] = "30000999,重号,13800000001,,,,"  # in the second batch: 王芳's number
    text = HEADER + "\n".join(rows) + "\n"
    before = count(hotline, Customer)
    preview = import_customers(hotline.sessions, text, who="sup", dry_run=True)
    assert count(hotline, Customer) == before
    report = import_customers(hotline.sessions, text, who="sup")
    assert [row.result for row in report.rows] == [row.result for row in preview.rows]
    assert (report.count("created"), report.count("refused")) == (BATCH * 2 + 6, 1)
    assert report.rows[BATCH + 3].line == BATCH + 5 and "10000001" in report.rows[BATCH + 3].why
    assert count(hotline, Customer) == before + BATCH * 2 + 6


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "the file is empty"),
        ("account,name,phone,colour\n1,x,,red\n", "unknown column 'colour'"),
        ("name,numbers\nx,13800000001\n", "no 'account' column"),
        ("户号,姓名,account\n", "given twice"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(hotline, text, words):
    with pytest.raises(ImportRefused, match=words):
        import_customers(hotline.sessions, text, who="sup")


def test_a_file_over_the_limit_is_refused_before_anything_is_stored(hotline):
    text = HEADER + "".join(f"3000000{n},客户{n},,,,,\n" for n in range(4))
    with pytest.raises(ImportRefused, match="4 rows, at most 3 here"):
        import_customers(hotline.sessions, text, who="sup", max_rows=3)
    assert customer(hotline, "30000000") is None
    unlimited = import_customers(hotline.sessions, text, who="sup", max_rows=None)  # the command line's
    assert [row.result for row in unlimited.rows] == ["created"] * 4


def test_chinese_headers_and_a_gb18030_file(hotline, tmp_path):
    from ivr.customers.imports import decode

    data = "户号,姓名,电话,区域\n20000009,吴十,13900000099,西城\n".encode("gb18030")
    report = import_customers(hotline.sessions, decode(data), who="sup")
    assert [row.result for row in report.rows] == ["created"]
    assert customer(hotline, "20000009").district == "西城"


# ---------------------------------------------------------------- search


def test_search_finds_by_any_number_account_or_name(hotline):
    give_second_number(hotline)
    with hotline.sessions() as session:
        by_second = [c.account_number for c in find_customers(session, "139 1111 0002")]
        by_account = [c.account_number for c in find_customers(session, LI_QIANG)]
        by_name = [c.account_number for c in find_customers(session, "李")]
        # The work-order search (/search) finds the customer by the second number too.
        hits = [hit.customer.account_number for hit in search(session, "13911110002").customers]
    assert by_second == by_account == by_name == hits == [LI_QIANG]


# ---------------------------------------------------------------- the sync API


def token_of(hotline, role):
    with unit_of_work(hotline.sessions) as session:
        seat = session.scalar(select(Agent.id).order_by(Agent.id).limit(1)) if role == "agent" else None
        _, token = create_user(session, username=f"api-{role}", role=role, password=PASSWORD, agent_id=seat)
    return {"Authorization": f"Bearer {token}"}


def test_put_creates_then_answers_unchanged_then_updates(app, hotline):
    api, auth = app.test_client(), token_of(hotline, "supervisor")
    body = {"name": "赵六", "numbers": ["13900000011"], "district": "东城", "class": "commercial"}
    created = api.put("/api/customers/20000001", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["customer"] == {
        "account": "20000001",
        "name": "赵六",
        "numbers": ["+8613900000011"],
        "address": "",
        "district": "东城",
        "customer_class": "commercial",
        "language": "zh-CN",
    }
    again = api.put("/api/customers/20000001", json=body, headers=auth)
    assert (again.status_code, again.get_json()["result"]) == (200, "unchanged")
    moved = api.put("/api/customers/20000001", json={"address": "东城区二号"}, headers=auth)
    assert (moved.status_code, moved.get_json()["changed"]) == (200, ["address"])
    read = api.get("/api/customers/20000001", headers=auth).get_json()["customer"]
    assert read["address"] == "东城区二号" and read["customer_class"] == "commercial"
    with hotline.sessions() as session:
        who = session.scalars(select(ChangeLog.who).where(ChangeLog.kind == "customer")).all()
    assert who == ["api:api-supervisor", "api:api-supervisor"]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/customers/20000001", {"numbers": ["1"]}, 422, "'1' is not a phone number"),
        ("/api/customers/20000001", {"name": "x", "colour": "red"}, 422, "colour: unknown field"),
        ("/api/customers/20000001", {"account": "2", "name": "x"}, 422, "the address says '20000001'"),
        ("/api/customers/20000001", ["not", "an", "object"], 422, "send a JSON object"),
        ("/api/customers/20000001", {"numbers": ["13900000011"]}, 409, "name: is required for a new account"),
        ("/api/customers/20000001", {"name": "x", "numbers": ["+8613800000001"]}, 409, "account 10000001"),
        ("/api/customers/10%2000", {"name": "x"}, 422, "letters, digits or dashes"),
    ],
)
def test_a_refused_put_says_what_was_wrong_and_stores_nothing(app, hotline, path, body, status, words):
    before = count(hotline, Customer), count(hotline, ChangeLog)
    answer = app.test_client().put(path, json=body, headers=token_of(hotline, "admin"))
    assert answer.status_code == status, answer.get_json()
    assert words in answer.get_json()["error"]
    assert (count(hotline, Customer), count(hotline, ChangeLog)) == before


def test_batch_answers_per_item(app, hotline):
    items = [
        {"account": "20000001", "name": "赵六", "numbers": ["13900000011"]},
        {"account": "10000002", "district": "西城"},
        {"account": "20000002", "name": "钱七", "numbers": ["13900000011"]},  # the first item's number
        {"name": "no account"},
        "not an object",
    ]
    answer = app.test_client().post(
        "/api/customers/batch", json={"customers": items}, headers=token_of(hotline, "supervisor")
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert [r["result"] for r in body["results"]] == ["created", "updated", "refused", "refused", "refused"]
    assert body["results"][2]["error"] == "numbers: +8613900000011 is already a number of account 20000001"
    assert body["results"][3]["field"] == "account"
    assert (body["created"], body["updated"], body["unchanged"], body["refused"]) == (1, 1, 0, 3)
    assert customer(hotline, "20000001") is not None and customer(hotline, "20000002") is None


def test_the_api_is_for_admin_and_supervisor_tokens_only(app, hotline):
    api = app.test_client()
    assert api.get("/api/customers/10000001").status_code == 401
    assert api.get("/api/customers/10000001", headers=token_of(hotline, "agent")).status_code == 403
    answer = api.get("/api/customers/99999999", headers=token_of(hotline, "admin"))
    assert answer.status_code == 404 and "99999999" in answer.get_json()["error"]


# ---------------------------------------------------------------- the pages


def signed_in(app, hotline, role):
    app.config["SECRET_KEY"] = "test-secret-key"
    client = app.test_client()
    with unit_of_work(hotline.sessions) as session:
        seat = session.scalar(select(Agent.id).order_by(Agent.id).limit(1)) if role == "agent" else None
        create_user(session, username=f"u-{role}", role=role, password=PASSWORD, agent_id=seat)
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)
    response = client.post(
        "/login", data={"username": f"u-{role}", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_an_agent_finds_a_caller_and_reads_the_page_but_cannot_edit_or_import(app, hotline):
    give_second_number(hotline)
    agent = signed_in(app, hotline, "agent")
    found = agent.get("/customers?q=13911110002").get_data(as_text=True)
    li = customer(hotline, LI_QIANG)
    assert f'href="/customers/{li.id}"' in found and "李强" in found
    assert 'id="import"' not in found
    page = agent.get(f"/customers/{li.id}").get_data(as_text=True)
    assert SECOND in page and 'id="edit"' not in page
    assert agent.post(f"/customers/{li.id}", data={"name": "x"}).status_code in (400, 403)
    assert customer(hotline, LI_QIANG).name == "李强"


def test_the_work_order_search_links_each_customer_to_their_page(app, hotline):
    agent = signed_in(app, hotline, "agent")
    html = agent.get("/search?q=13800000002").get_data(as_text=True)
    assert f'href="/customers/{customer(hotline, LI_QIANG).id}"' in html


def test_an_empty_search_is_a_400_with_the_form(app, hotline):
    quality = signed_in(app, hotline, "quality")
    answer = quality.get("/customers?q=+")
    assert answer.status_code == 400 and "请输入电话、姓名或户号" in answer.get_data(as_text=True)


def test_the_supervisor_imports_on_the_page_after_a_preview(app, hotline):
    import io

    sup = signed_in(app, hotline, "supervisor")
    data = (HEADER + "20000001,赵六,13900000011,,东城,,\n20000002,钱七,13800000001,,,,\n").encode()

    def upload(action):
        form = {"csrf_token": csrf(sup, "/customers"), "action": action, "file": (io.BytesIO(data), "c.csv")}
        return sup.post("/customers/import", data=form, content_type="multipart/form-data")

    preview = upload("preview")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="dry-run"' in html
    assert "is already a number of account 10000001" in html
    assert customer(hotline, "20000001") is None
    stored = upload("import").get_data(as_text=True)
    assert 'id="stored"' in stored and customer(hotline, "20000001").district == "东城"
    empty = sup.post(
        "/customers/import",
        data={"csrf_token": csrf(sup, "/customers"), "action": "import"},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400 and "请选择一个 CSV 文件" in empty.get_data(as_text=True)


def test_the_customer_page_shows_calls_orders_callbacks_and_scores(app, hotline, twilio):
    give_second_number(hotline)
    call_sid = new_call_sid()
    twilio.post("/voice/incoming", call_sid=call_sid, caller=SECOND)
    now = utcnow()
    with unit_of_work(hotline.sessions) as session:
        li = session.scalar(select(Customer).where(Customer.account_number == LI_QIANG))
        order = open_work_order(session, kind="fault", caller_number=SECOND, source_key="t:1")
        completion = ServiceCompletion(
            source="field",
            external_id="F-1",
            service_type="leak_repair",
            completed_at=now - timedelta(days=2),
            customer_phone=SECOND,
            employee="王师傅",
            amount_charged=Decimal("0"),
        )
        session.add(completion)
        session.flush()
        candidate = CallbackCandidate(
            completion_id=completion.id, month="2026-12", selected=True, policy_version=1
        )
        session.add(candidate)
        session.flush()
        job = CallbackJob(
            candidate_id=candidate.id,
            completion_id=completion.id,
            phone=SECOND,
            language="zh-CN",
            due_at=now - timedelta(hours=1),
            latest_at=now + timedelta(days=3),
            attempts=1,
            status="completed",
        )
        session.add(job)
        session.flush()
        session.add(
            CallbackAttempt(job_id=job.id, number=1, call_sid="CAcb1", placed_at=now, outcome="completed")
        )
        session.add(
            SurveyResponse(
                job_id=job.id,
                completion_id=completion.id,
                call_sid="CAcb1",
                phone=SECOND,
                language="zh-CN",
                called_at=now,
                attitude=4,
                ability=9,
                on_time=True,
                charged=False,
            )
        )
        order_number, li_id = order.number, li.id
    page = signed_in(app, hotline, "quality").get(f"/customers/{li_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    calls = html[html.index('id="calls"') : html.index('id="orders"')]
    assert SECOND in calls and "没有来电记录" not in calls
    assert order_number in html[html.index('id="orders"') : html.index('id="callbacks"')]
    callbacks = html[html.index('id="callbacks"') : html.index('id="surveys"')]
    assert "leak_repair" in callbacks and "#1" in callbacks
    assert "已完成 / Completed" in callbacks and "/console/callback-jobs/" in callbacks  # quality opens jobs
    surveys = html[html.index('id="surveys"') :]
    assert 'class="low-score"' in surveys and "<td>4</td>" in surveys and "<td>9</td>" in surveys
    assert signed_in_missing(app, hotline) == 404


def signed_in_missing(app, hotline):
    return signed_in(app, hotline, "shift_lead").get("/customers/99999").status_code


def test_an_edit_on_the_page_is_stored_and_logged_and_a_taken_number_is_refused(app, hotline):
    sup = signed_in(app, hotline, "supervisor")
    li = customer(hotline, LI_QIANG)
    path = f"/customers/{li.id}"
    form = {
        "csrf_token": csrf(sup, path),
        "name": "李强",
        "numbers": "13800000002; 13911110002",
        "address": "海淀区中关村大街27号2-1102",
        "district": "海淀",
        "language": "en-US",
    }
    saved = sup.post(path, data=form)
    assert saved.status_code == 302
    assert numbers(hotline, LI_QIANG) == ["+8613800000002", SECOND]
    assert customer(hotline, LI_QIANG).language == "en-US"
    with hotline.sessions() as session:
        entry = session.scalar(select(ChangeLog).where(ChangeLog.kind == "customer"))
        assert (entry.who, entry.action, entry.subject) == ("u-supervisor", "update", "10000002 李强")
        assert entry.after == {"numbers": ["+8613800000002", SECOND], "language": "en-US"}
    taken = sup.post(path, data={**form, "numbers": "13800000001"})
    html = taken.get_data(as_text=True)
    assert taken.status_code == 400 and "is already a number of account 10000001" in html
    assert 'value="13800000001"' in html  # the form keeps what was typed
    assert numbers(hotline, LI_QIANG) == ["+8613800000002", SECOND]


# ---------------------------------------------------------------- the CLI


def test_the_cli_imports_with_a_dry_run_and_finds(hotline, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "20000001,赵六,13900000011,,东城,,\n20000002,钱七,13800000001,,,,\n", "utf-8")
    runner = CliRunner()
    dry = runner.invoke(cli, ["customers", "import", str(path), "--dry-run"], obj=hotline)
    assert dry.exit_code == 1  # a row was refused
    assert "line 2\t20000001\tcreated" in dry.output and "dry run, nothing stored" in dry.output
    assert customer(hotline, "20000001") is None
    done = runner.invoke(cli, ["customers", "import", str(path)], obj=hotline)
    assert "1 created, 0 updated, 0 unchanged, 1 refused" in done.output
    found = runner.invoke(cli, ["customers", "find", "13900000011"], obj=hotline)
    assert found.exit_code == 0 and found.output == "20000001\t赵六\t+8613900000011\t东城\n"
    nothing = runner.invoke(cli, ["customers", "find", "无此人"], obj=hotline)
    assert nothing.exit_code == 1


# ---------------------------------------------------------------- the migration


def test_0022_gives_each_account_its_phone_and_a_shared_phone_to_the_oldest(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from ivr.db import migrate
    from ivr.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = migrate.alembic_config(str(engine.url))
    command.upgrade(config, "0021")
    insert = text(
        "INSERT INTO customers (id, account_number, name, phone, address, district, customer_class, balance,"
        " language) VALUES (:id, :account, 'x', :phone, '', '', 'residential', 0, 'zh-CN')"
    )
    with engine.begin() as connection:
        for id_, account, phone in ((1, "A1", "+8613800000001"), (2, "A2", "+8613800000001"), (3, "A3", "")):
            connection.execute(insert, {"id": id_, "account": account, "phone": phone})
    command.upgrade(config, "0022")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT customer_id, phone, position FROM customer_numbers")).all()
    assert [tuple(row) for row in rows] == [(1, "+8613800000001", 0)]
    command.downgrade(config, "0021")
    engine.dispose()
