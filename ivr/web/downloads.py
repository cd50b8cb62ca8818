"""Files the pages hand to the browser to save: a report's CSV."""

from __future__ import annotations

from flask import Response


def csv_download(text: str, filename: str) -> Response:
    """A CSV answer the browser saves as `filename`."""
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
