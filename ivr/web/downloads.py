"""Files the pages hand to the browser to save: a report's CSV, or a long export streamed piece by piece."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response


def csv_download(text: str, filename: str) -> Response:
    """A CSV answer the browser saves as `filename`."""
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def csv_stream_download(pieces: Iterator[str], filename: str) -> Response:
    """A CSV answer sent as `pieces` come, never held whole. The first piece is taken here, inside the
    request, so a database that fails at the start is an error page rather than a cut-off file."""
    first = next(pieces, "")

    def send() -> Iterator[str]:
        try:
            yield first
            yield from pieces
        finally:
            # A browser that stops the download closes this, which closes `pieces` and its transaction.
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    return Response(
        send(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
