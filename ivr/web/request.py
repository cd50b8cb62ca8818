"""The request class: Twilio's form posts parsed with less machinery than Werkzeug's general parser."""

from __future__ import annotations

from urllib.parse import unquote

import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" codec error handler used below)
from flask import Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property

FORM = "application/x-www-form-urlencoded"
_BAD_ESCAPES = "werkzeug.url_quote"  # as Werkzeug: a bad percent-escape is left as it was sent


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"), which is how Werkzeug parses
    forms and query strings, at half its cost: it spends four function calls on every name and value,
    where most of Twilio's (digits, SIDs, words) have nothing to decode. Tested against Werkzeug."""
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")  # a bare name is a blank value
        name, value = name.replace("+", " "), value.replace("+", " ")
        if "%" in name:
            name = unquote(name, errors=_BAD_ESCAPES)
        if "%" in value:
            value = unquote(value, errors=_BAD_ESCAPES)
        pairs.append((name, value))
    return pairs


class WebhookRequest(Request):
    """Every webhook is a small url-encoded form; Werkzeug's form parser (stream wrappers, a parser
    object per request) cost about 70 us of it, where `parse_pairs` on the body costs about 14 us with
    the 13 parameters of a queue-wait webhook."""

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        # Read from the environ: Werkzeug's mimetype and content_length properties cost ~11 us together.
        environ = self.environ
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        declared = environ.get("CONTENT_LENGTH", "")
        plain = not environ.get("HTTP_TRANSFER_ENCODING") and declared.isascii() and declared.isdigit()
        if mimetype != FORM or not plain or "stream" in self.__dict__:
            super()._load_form_data()  # anything else (multipart, chunked, a stream already read)
            return
        length = int(declared)
        limit = self.max_content_length
        if limit is not None and length > limit:
            raise RequestEntityTooLarge()
        body = self.environ["wsgi.input"].read(length)
        # As Werkzeug parses a url-encoded form: blank values kept, bad percent-escapes left as they
        # are, and a body that is not UTF-8 at all read as an empty form.
        try:
            items = parse_pairs(body.decode())
        except ValueError:
            items = []
        self.__dict__["form"] = self.parameter_storage_class(items)
        self.__dict__["files"] = self.parameter_storage_class()

    @cached_property
    def args(self) -> MultiDict[str, str]:
        """The query string's parameters, as Werkzeug parses them (every action URL carries a few)."""
        return self.parameter_storage_class(parse_pairs(self.query_string.decode()))
