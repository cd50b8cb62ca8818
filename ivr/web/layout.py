"""The pages' shared look: the base and error templates, the style sheets and scripts under /admin/static."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

STATIC_DIR = Path(__file__).with_name("static")

# No routes: it lends every page its base template and serves the static files (the URL path is kept).
bp = Blueprint(
    "layout", __name__, template_folder="templates", static_folder="static", static_url_path="/admin/static"
)
