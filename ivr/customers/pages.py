"""The customer pages: search and import, and a customer's page with its edit form.

Search and import are /customers, a customer's page /customers/<id>. Agents and shift leads look callers up,
quality staff read, supervisors and admins also import and edit (docs/customers.md).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ivr.customers.history import customer_file
from ivr.customers.imports import ImportRefused, decode, import_customers
from ivr.customers.records import LANGUAGES, RecordRefused, record_from
from ivr.customers.search import SearchRefused, find_customers
from ivr.customers.sync import REFUSED, numbers_of, store_customer
from ivr.db.models import Customer
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.surveys.job_pages import STATUS_LABELS as CALLBACK_STATUS_LABELS
from ivr.surveys.job_pages import VIEWERS as CALLBACK_VIEWERS
from ivr.web.current_hotline import hotline

bp = Blueprint("customers", __name__, template_folder="templates")

READERS = ("admin", "supervisor", "shift_lead", "agent", "quality")
EDITORS = ("admin", "supervisor")
MAX_FILE_BYTES = 5 * 1024 * 1024
Page = str | tuple[str, int]
RESULT_LABELS = {
    "created": "新建 / Created",
    "updated": "已更新 / Updated",
    "unchanged": "无变化 / Unchanged",
    "refused": "拒绝 / Refused",
}
CLASS_LABELS = {"residential": "居民 / Residential", "commercial": "商业 / Commercial"}
FIELD_LABELS = {
    "name": "姓名 / name",
    "numbers": "电话 / numbers",
    "address": "地址 / address",
    "district": "区域 / district",
    "customer_class": "类别 / class",
    "language": "语言 / language",
}


@bp.context_processor
def _labels() -> dict[str, object]:
    who = g.get("person")  # unset on the login redirect and the 403 page, which this blueprint renders too
    return {
        "can_edit": who is not None and who.role in EDITORS,
        # A call-back links to its job's page only for the roles that page lets in (no 403 behind a link).
        "can_open_jobs": who is not None and who.role in CALLBACK_VIEWERS,
        "CALLBACK_STATUS_LABELS": CALLBACK_STATUS_LABELS,
        "CUSTOMER_LANGUAGES": LANGUAGES,
        "RESULT_LABELS": RESULT_LABELS,
        "CLASS_LABELS": CLASS_LABELS,
        "FIELD_LABELS": FIELD_LABELS,
    }


@bp.get("/customers")
@role_required(*READERS)
def index() -> Page:
    """The search box and what ?q= found; the import form for the roles that edit."""
    query = request.args.get("q")
    if query is None:
        return render_template("customers/index.html", query="", found=None, problem="")
    try:
        with hotline().sessions() as session:
            customers = find_customers(session, query)
            found = [(customer, numbers_of(session, customer.id)) for customer in customers]
    except SearchRefused as refused:
        return render_template("customers/index.html", query=query, found=None, problem=str(refused)), 400
    return render_template("customers/index.html", query=query, found=found, problem="")


@bp.post("/customers/import")
@role_required(*EDITORS)
def import_file() -> Page:
    """Import (or, with the preview button, only preview) the uploaded CSV file: the report per row."""
    upload = request.files.get("file")
    dry_run = request.form.get("action") != "import"
    data = upload.read(MAX_FILE_BYTES + 1) if upload is not None else b""
    problem = ""
    if not data:
        problem = "请选择一个 CSV 文件 / choose a CSV file"
    elif len(data) > MAX_FILE_BYTES:
        problem = f"文件太大 / the file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB: split it"
    if problem:
        return render_template("customers/index.html", query="", found=None, problem=problem), 400
    try:
        report = import_customers(hotline().sessions, decode(data), who=person().username, dry_run=dry_run)
    except ImportRefused as refused:
        problem = f"文件无法导入 / The file cannot be imported: {refused}"
        return render_template("customers/index.html", query="", found=None, problem=problem), 400
    name = upload.filename if upload is not None else ""
    return render_template("customers/import.html", report=report, filename=name)


@bp.get("/customers/<int:customer_id>")
@role_required(*READERS)
def customer(customer_id: int) -> Page:
    """The customer's details, numbers, calls, work orders, call-backs and survey scores."""
    return _page(customer_id)


@bp.post("/customers/<int:customer_id>")
@role_required(*EDITORS)
def edit(customer_id: int) -> Response | Page:
    """Save the contact details; a refusal shows the page again with its message and stores nothing."""
    with hotline().sessions() as session:
        account = session.get(Customer, customer_id)
        if account is None:
            abort(404)
        fields = ("name", "numbers", "address", "district")
        values: dict[str, str | None] = {field: request.form.get(field, "") for field in fields}
        values["account"], values["language"] = account.account_number, request.form.get("language") or None
    try:
        record = record_from(values)
    except RecordRefused as refused:
        return _page(customer_id, problem=str(refused), form=values)
    with unit_of_work(hotline().sessions) as session:
        outcome = store_customer(session, record, who=person().username)
    if outcome.result == REFUSED:
        return _page(customer_id, problem=outcome.why, form=values)
    flash(f"已保存 / Saved ({outcome.result})", "ok")
    return redirect(url_for("customers.customer", customer_id=customer_id))


def _page(customer_id: int, *, problem: str = "", form: dict[str, str | None] | None = None) -> Page:
    with hotline().sessions() as session:
        found = customer_file(session, customer_id)
        if found is None:
            abort(404)
        html = render_template("customers/customer.html", file=found, problem=problem, form=form)
    return (html, 400) if problem else html
