"""The navigation bar of every page: one list of the console's pages, shown to a role only where it may open.

Whether a role may open a page is read from the page's own `role_required` (the `.roles` it records on the
view), so a link shown never answers 403; an endpoint not registered (a page still to come) is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from flask_login import current_user


@dataclass(frozen=True)
class Link:
    """One page in the navigation: its label (Chinese / English) and endpoint (a GET without arguments)."""

    text: str
    endpoint: str


@dataclass(frozen=True)
class Group:
    """A menu of the bar: its label and its pages."""

    text: str
    links: tuple[Link, ...]


HOME = Link("首页 / Home", "home.page")
SEARCH = Link("搜索 / Search", "search.page")
GROUPS = (
    Group(
        "现场 / Floor",
        (
            Link("坐席 / Agent seat", "agent_page.agent"),
            Link("现场看板 / Live board", "floor.board"),
            Link("大屏 / Wallboard", "wallboard.page"),
            Link("大屏颜色阈值 / Wallboard limits", "wallboard.thresholds"),
            Link("历史 / History", "floor.history_page"),
            Link("排班测算 / Staffing", "floor.staffing"),
        ),
    ),
    Group(
        "质检 / Quality",
        (
            Link("质检抽样 / Audit sample", "quality.sample"),
            Link("录音 / Recordings", "quality.recordings"),
            Link("我的质检 / My reviews", "quality.mine"),
            Link("评分表 / Scorecard", "quality.scorecard"),
            Link("质量月报 / Quality report", "reports.quality"),
        ),
    ),
    Group(
        "满意度 / Satisfaction",
        (
            Link("满意度回访报告 / Satisfaction report", "satisfaction.report"),
            Link("回访跟进 / Follow-up cases", "satisfaction.cases"),
            Link("回访任务 / Call-back jobs", "callback_jobs.page"),
            Link("回访设置 / Call-back settings", "callback_settings.page"),
        ),
    ),
    Group(
        "工单 / Work orders",
        (
            Link("工单队列 / Desks", "desks.index"),
            Link("客户 / Customers", "customers.index"),
            Link("工单时限规则 / Deadline rules", "deadlines.page"),
            Link("导出 / Export", "exports.page"),
        ),
    ),
    Group(
        "配置 / Configuration",
        (
            Link("语音菜单 / Menu editor", "editor.menu"),
            Link("路由规则与营业时间 / Routing rules and hours", "editor.rules"),
            Link("通知与风暴模式 / Announcements and storm mode", "announcements.index"),
            Link("变更记录 / Change log", "editor.changes_page"),
        ),
    ),
    Group(
        "人员 / People",
        (
            Link("坐席管理 / Agents", "people_agents.index"),
            Link("用户 / Users", "admin.users"),
        ),
    ),
)
# Pages of a blueprint with no link of its own, and the link of the bar they belong under.
PART_OF = {"user_admin": "admin.users", "storm": "announcements.index"}
# The agent's seat is "my seat" to an agent, the list of agents to the others who may open it.
_OWN_SEAT = {("agent", "agent_page.agent"): "我的坐席 / My seat"}


def may_open(role: str, endpoint: str, view_functions: Mapping[str, Callable[..., Any]]) -> bool:
    """True if the endpoint is registered, is a page (not the token API) and lets `role` in."""
    view = view_functions.get(endpoint)
    return view is not None and not getattr(view, "token", False) and role in getattr(view, "roles", ())


def links_for(role: str, view_functions: Mapping[str, Callable[..., Any]]) -> list[tuple[str, list[Link]]]:
    """The groups (label, links) the role may open, in the bar's order; a group with no link is left out."""
    shown = []
    for group in GROUPS:
        links = [
            Link(_OWN_SEAT.get((role, link.endpoint), link.text), link.endpoint)
            for link in group.links
            if may_open(role, link.endpoint, view_functions)
        ]
        if links:
            shown.append((group.text, links))
    return shown


def current_link(endpoint: str | None, groups: list[tuple[str, list[Link]]]) -> str | None:
    """The endpoint of the bar that the page belongs to: itself, or the first page of its blueprint."""
    if not endpoint:
        return None
    endpoints = [link.endpoint for _, links in groups for link in links]
    if endpoint in endpoints:
        return endpoint
    blueprint = endpoint.rpartition(".")[0]
    if PART_OF.get(blueprint) in endpoints:
        return PART_OF[blueprint]
    return next((known for known in endpoints if known.rpartition(".")[0] == blueprint), None)


def navigation() -> dict[str, Any] | None:
    """The bar for the signed-in user on this request (None for a visitor): what base.html draws."""
    if not current_user.is_authenticated:
        return None
    views = current_app.view_functions
    groups = links_for(current_user.role, views)
    current = current_link(request.endpoint, groups)
    return {
        "home": url_for(HOME.endpoint) if may_open(current_user.role, HOME.endpoint, views) else None,
        "home_current": request.endpoint == HOME.endpoint,
        "search": url_for(SEARCH.endpoint) if may_open(current_user.role, SEARCH.endpoint, views) else None,
        "search_current": request.endpoint == SEARCH.endpoint,
        "groups": [
            {
                "text": text,
                "current": any(link.endpoint == current for link in links),
                "links": [
                    {"text": link.text, "url": url_for(link.endpoint), "current": link.endpoint == current}
                    for link in links
                ],
            }
            for text, links in groups
        ],
    }
