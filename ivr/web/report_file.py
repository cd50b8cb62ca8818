"""A report page as one self-contained HTML file, rendered from the page's own templates without the app.

The command line writes these files: the style sheet goes inline and the charts are inline SVG already,
so the file opens anywhere with nothing to fetch. The templates are the pages' (a domain's folder, then
this package's shared one), with the same autoescaping as Flask's and the filters they use.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ivr.web.labels import local_time

SHARED_TEMPLATES = Path(__file__).with_name("templates")
STYLE_SHEET = Path(__file__).with_name("static") / "admin.css"


def render_report_file(template: str, *, templates: Path, timezone: str, **context: Any) -> str:
    """`template` from the folder `templates` (or the shared one), the style sheet inline as `inline_css`."""
    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(templates), FileSystemLoader(SHARED_TEMPLATES)]),
        # Flask's choice: escape in .html, .htm, .xml, .xhtml and .svg templates.
        autoescape=select_autoescape(("html", "htm", "xml", "xhtml", "svg"), default_for_string=True),
    )
    environment.filters["local_time"] = partial(local_time, timezone=timezone)
    css = Markup(STYLE_SHEET.read_text(encoding="utf-8"))
    return environment.get_template(template).render(inline_css=css, **context)
