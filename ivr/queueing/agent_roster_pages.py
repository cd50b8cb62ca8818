"""The roster pages (/console/agents): the agents with their state, their forms and a CSV import.

The add and edit forms, taking an agent out of service and back, and a CSV import with its per-row report
(docs/users.md, "Agents (seats)")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ivr.db.models import Agent
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.people.forms import PostedForm
from ivr.queueing.agent_csv import ImportReport, RosterFileRefused, import_roster
from ivr.queueing.agent_roster import (
    InvalidAgent,
    RosterRefused,
    RosterVocabulary,
    add_agent,
    deactivate_agent,
    edit_agent,
    reactivate_agent,
    roster,
    vocabulary,
)
from ivr.web.current_hotline import hotline
from ivr.web.labels import LANGUAGES, label

bp = Blueprint("people_agents", __name__, url_prefix="/console/agents", template_folder="templates")

CHANGE = ("admin", "supervisor")  # run the centre: change the roster
VIEW = (*CHANGE, "shift_lead")  # run the floor: see who is on it
LEVELS = [SelectChoice("", "—")] + [SelectChoice(str(level)) for level in range(1, 6)]


class Checkboxes(SelectMultipleField):  # type: ignore[misc]
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AgentForm(PostedForm):
    """An agent's roster fields; the skills' selects are added per skill the live rules know."""

    name = StringField("姓名 / Name")
    phone = StringField("电话（E.164）/ Phone (E.164)")
    client_identity = StringField("浏览器客户端标识 / Browser client identity")
    # Every value posted goes on to the roster's checks, which name what is wrong (wtforms would only say
    # "not a valid choice", and drop it).
    groups = Checkboxes("分组 / Groups", validators=[Optional()], validate_choice=False)
    languages = Checkboxes("语言 / Languages", validators=[Optional()], validate_choice=False)
    wrap_up_seconds = StringField("话后整理（秒，可空：按分组）/ Wrap-up (s, blank: the group's)")


class ImportForm(PostedForm):
    """The CSV roster: a file, or the text of one already previewed."""

    csv_text = TextAreaField()
    dry_run = BooleanField("只预览，不保存 / Preview only, save nothing", default=True)


class ToggleForm(PostedForm):
    """A button that takes an agent out of service or back (the CSRF token is all it carries)."""


def _form_class(known: RosterVocabulary) -> type[AgentForm]:
    fields = {
        f"skill_{skill}": SelectField(skill, choices=LEVELS, default="", validate_choice=False)
        for skill in known.skills
    }
    return type("RosterAgentForm", (AgentForm,), fields)


def _build_form(known: RosterVocabulary, data: dict[str, Any] | None = None) -> AgentForm:
    form = _form_class(known)(data=data)
    form.groups.choices = [SelectChoice(group) for group in known.groups]
    form.languages.choices = [SelectChoice(tag, label(LANGUAGES, tag)) for tag in known.languages]
    return form


def _values(form: AgentForm, known: RosterVocabulary) -> dict[str, Any]:
    """What the form asks for, as the roster's fields (pydantic judges them)."""
    skills = {}
    for skill in known.skills:
        level = getattr(form, f"skill_{skill}").data
        if level:
            skills[skill] = int(level) if level.isdigit() else level  # not a number: pydantic says so
    return {
        "name": form.name.data or "",
        "phone": form.phone.data or "",
        "client_identity": form.client_identity.data or "",
        "groups": list(form.groups.data or []),
        "skills": skills,
        "languages": list(form.languages.data or []),
        "wrap_up_seconds": (form.wrap_up_seconds.data or "").strip(),
    }


def _form_data(agent: Any) -> dict[str, Any]:
    data = {
        "name": agent.name,
        "phone": agent.phone or "",
        "client_identity": agent.client_identity or "",
        "groups": list(agent.groups or []),
        "languages": list(agent.languages or []),
        "wrap_up_seconds": "" if agent.wrap_up_seconds is None else str(agent.wrap_up_seconds),
    }
    data.update({f"skill_{skill}": str(level) for skill, level in (agent.skills or {}).items()})
    return data


def _problems_by_field(invalid: InvalidAgent) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in invalid.problems:
        found.setdefault(problem.where.split(".")[0], []).append(problem.message)
    return found


@bp.get("")
@role_required(*VIEW)
def index() -> str:
    """Every agent: state, groups, skills, languages, how they are dialled, in service or not."""
    with hotline().sessions() as session:
        agents = roster(session)
    can_change = person().role in CHANGE
    return render_template(
        "admin/agent_roster.html", agents=agents, can_change=can_change, toggle=ToggleForm()
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(*CHANGE)
def new() -> Response | str | tuple[str, int]:
    """The add form; saved, the agent is in service and offline until they go available."""
    h = hotline()
    rules = h.rules.live()
    known = vocabulary(rules)
    form = _build_form(known)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with unit_of_work(h.sessions) as session:
                agent = add_agent(session, values=_values(form, known), rules=rules, by=person().username)
                done = f"{agent.name} (#{agent.id})"
        except InvalidAgent as invalid:
            return _form_page(form, known, None, invalid), 422
        except RosterRefused as refused:
            flash(str(refused), "error")
            return _form_page(form, known, None, None), 409
        flash(f"已添加坐席 / Agent added: {done}", "ok")
        return redirect(url_for("people_agents.index"))
    return _form_page(form, known, None, None)


@bp.route("/<int:agent_id>/edit", methods=["GET", "POST"])
@role_required(*CHANGE)
def edit(agent_id: int) -> Response | str | tuple[str, int]:
    """The edit form; the next routing decision uses what is saved."""
    h = hotline()
    rules = h.rules.live()
    known = vocabulary(rules)
    with h.sessions() as session:
        agent = session.get(Agent, agent_id)
        if agent is None:
            abort(404)
    form = _build_form(known, None if request.method == "POST" else _form_data(agent))
    if request.method == "POST" and form.validate_on_submit():
        try:
            with unit_of_work(h.sessions) as session:
                values = _values(form, known)
                who = person().username
                saved = edit_agent(session, agent_id=agent_id, values=values, rules=rules, by=who)
                done = f"{saved.name} (#{saved.id})"
        except InvalidAgent as invalid:
            return _form_page(form, known, agent, invalid), 422
        except RosterRefused as refused:
            flash(str(refused), "error")
            return redirect(url_for("people_agents.index"))
        flash(f"已保存 / Saved: {done}", "ok")
        return redirect(url_for("people_agents.index"))
    return _form_page(form, known, agent, None)


@bp.post("/<int:agent_id>/deactivate")
@role_required(*CHANGE)
def deactivate(agent_id: int) -> Response:
    """Out of service: offline and never offered a call again (a call under way ends first)."""
    return _toggle(lambda session: deactivate_agent(session, agent_id=agent_id, by=person().username), "停用")


@bp.post("/<int:agent_id>/reactivate")
@role_required(*CHANGE)
def reactivate(agent_id: int) -> Response:
    """Back in service (offline until they go available)."""
    return _toggle(lambda session: reactivate_agent(session, agent_id=agent_id, by=person().username), "启用")


def _toggle(change: Any, verb: str) -> Response:
    if not ToggleForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work(hotline().sessions) as session:
            agent = change(session)
            done = f"{agent.name} (#{agent.id})"
    except RosterRefused as refused:
        flash(str(refused), "error")
    else:
        english = "out of service" if verb == "停用" else "back in service"
        flash(f"已{verb} / {english}: {done}", "ok")
    return redirect(url_for("people_agents.index"))


@bp.route("/import", methods=["GET", "POST"])
@role_required(*CHANGE)
def import_page() -> str | tuple[str, int]:
    """Upload a roster CSV: preview the per-row report, then apply the same file."""
    form = ImportForm()
    report: ImportReport | None = None
    refused = None
    text = ""
    if request.method == "POST" and form.validate_on_submit():
        try:
            text = _posted_csv(form)
            report = _run_import(text, dry_run=bool(form.dry_run.data))
        except (RosterFileRefused, RosterRefused) as refusal:  # RosterRefused: a row raced another change
            refused = str(refusal)
    form.csv_text.data = text
    page = render_template(
        "admin/agent_roster_import.html", form=form, report=report, refused=refused, csv_text=text
    )
    return (page, 400) if refused else page


def _posted_csv(form: ImportForm) -> str:
    """The uploaded file's text, or the text of the file previewed before."""
    upload = request.files.get("file")
    text: str
    if upload is not None and upload.filename:
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RosterFileRefused("文件不是 UTF-8 文本 / the file is not UTF-8: save it as UTF-8") from None
    else:
        text = form.csv_text.data or ""
    if not text.strip():
        raise RosterFileRefused("请选择一个 CSV 文件 / choose a CSV file")
    return text


def _run_import(text: str, *, dry_run: bool) -> ImportReport:
    h = hotline()
    with h.sessions() as session:
        rules = h.rules.live()
        report = import_roster(session, text=text, rules=rules, by=person().username, dry_run=dry_run)
        if dry_run:
            session.rollback()  # a preview writes nothing
        else:
            session.commit()
    return report


def _form_page(
    form: AgentForm, known: RosterVocabulary, agent: Agent | None, invalid: InvalidAgent | None
) -> str:
    # What the agent holds that the live rules no longer route by has no box on the form: say so, since
    # saving the form drops it.
    stale = []
    if agent is not None:
        stale = [group for group in agent.groups or [] if group not in known.groups]
        skills = (agent.skills or {}).items()
        stale += [f"{skill}:{level}" for skill, level in skills if skill not in known.skills]
    return render_template(
        "admin/agent_roster_form.html",
        form=form,
        known=known,
        agent=agent,
        stale=stale,
        problems=_problems_by_field(invalid) if invalid else {},
        skill_fields=[getattr(form, f"skill_{skill}") for skill in known.skills],
    )
