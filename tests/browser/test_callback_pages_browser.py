"""The call-back pages in a real browser at 1366x900: a supervisor changes one service type's share in the
policy form and saves it (a new version), downloads the policy as JSON and previews an import of it, lists
the call-back jobs, filters them, cancels one with a reason and retries a failed one. Screenshots are kept
(tests/browser/screenshots/callbacks-*.png); no page scrolls sideways."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ivr.db.models import CallbackJob
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.surveys.policy_store import live_policy
from tests.browser.conftest import Site, screenshot
from tests.callback_jobs import DUE, add_job

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_supervisor_edits_the_policy_form_and_handles_callback_jobs(page, site: Site, tmp_path: Path) -> None:
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="zhuguan", role="supervisor", password=PASSWORD)
    queued = add_job(site.hotline, "queued", service_type="ignition", due_at=DUE + timedelta(days=1))
    failed = add_job(site.hotline, "unreachable", tries=("no-answer", "busy", "no-answer"))
    for day in range(3):
        add_job(site.hotline, "completed", tries=("completed",), due_at=DUE - timedelta(days=day))
    add_job(site.hotline, "expired", service_type="safety_inspection", employee="李师傅")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "zhuguan")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    # The policy as a form: a wrong share is marked at its field, nothing saved; then 20 % is saved.
    page.goto(site.url + "/console/callbacks")
    expect(page.locator("#live-version")).to_contain_text("the shipped default")
    page.fill("#share-small_installation", "120")
    page.get_by_role("button", name="保存为新版本 / Save as a new version").click()
    expect(page.locator("#error-share-small_installation")).to_contain_text("a percentage from 0 to 100")
    page.fill("#share-small_installation", "20")
    page.get_by_role("button", name="保存为新版本 / Save as a new version").click()
    expect(page.locator(".flash.ok")).to_contain_text("Published as version 1")
    expect(page.locator("#share-small_installation")).to_have_value("20")
    with site.hotline.sessions() as session:
        assert live_policy(session).shares["small_installation"] == 0.2
    no_sideways_scroll(page)
    screenshot(page, "callbacks-policy-form")

    # Export: the live version as a JSON file; changed and imported back, it is previewed as a diff.
    with page.expect_download() as downloading:
        page.locator("#export-policy").click()
    download = downloading.value
    assert download.suggested_filename == "callback-policy-v1.json"
    exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert exported["service_types"]["small_installation"]["share"] == 0.2
    exported["service_types"]["ignition"]["share"] = 0.3
    edited = tmp_path / "policy.json"
    edited.write_text(json.dumps(exported), encoding="utf-8")
    page.set_input_files("#import-form input[type=file]", str(edited))
    page.get_by_role("button", name="检查并预览 / Check and preview").click()
    expect(page.locator("#import-diff")).to_contain_text("service_types.ignition.share")
    no_sideways_scroll(page)
    screenshot(page, "callbacks-import-preview")
    page.get_by_role("button", name="发布为新版本 / Publish as a new version").click()
    expect(page.locator(".flash.ok")).to_contain_text("Published as version 2")

    # The jobs: all of them, then filtered, then one cancelled with a reason and a failed one retried.
    page.goto(site.url + "/console/callback-jobs")
    expect(page.locator("#job-count")).to_contain_text("6 job(s)")
    expect(page.locator(f"tr[data-job='{failed}']")).to_contain_text("no-answer, busy, no-answer")
    no_sideways_scroll(page)
    screenshot(page, "callbacks-jobs")
    page.select_option("select[name=status]", "queued")
    page.fill("input[name=from]", "2026-03-08")
    page.fill("input[name=to]", "2026-03-08")
    page.get_by_role("button", name="筛选 / Filter").click()
    expect(page.locator("#job-count")).to_contain_text("1 job(s)")
    expect(page.locator("#jobs tbody tr")).to_have_count(1)
    page.locator(f"tr[data-job='{queued}'] a").click()

    cancel = page.locator("#cancel-form")
    cancel.locator("textarea[name=reason]").fill("客户已搬走 / the customer moved away")
    cancel.get_by_role("button", name="取消回访 / Cancel the call-back").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Job {queued} is cancelled")
    expect(page.locator("#job-status")).to_contain_text("Cancelled")
    expect(page.locator("#job-changes")).to_contain_text("the customer moved away")
    expect(page.locator("#why-no-cancel")).to_contain_text("cancelled already")

    page.goto(site.url + f"/console/callback-jobs/{failed}")
    expect(page.locator("#tries tbody tr")).to_have_count(3)
    page.locator("#retry-form").get_by_role("button", name="重新排队 / Retry now").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Job {failed} is queued again")
    expect(page.locator("#job-status")).to_contain_text("Queued")
    expect(page.locator("#job-changes")).to_contain_text("重新排队 / Retried")
    no_sideways_scroll(page)
    screenshot(page, "callbacks-job")
    with site.hotline.sessions() as session:
        assert session.get(CallbackJob, queued).status == "cancelled"
        assert session.get(CallbackJob, failed).status == "queued"
