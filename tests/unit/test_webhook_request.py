"""WebhookRequest parses url-encoded forms exactly as Werkzeug's own parser does, only cheaper."""

from __future__ import annotations

import io

import pytest
from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from ivr.web.request import WebhookRequest

FORM = "application/x-www-form-urlencoded"
BODIES = [
    b"CallSid=CA1&From=%2B8613800000001&Digits=1",
    b"a=1&b=&c",  # blank and bare names
    b"a=%ZZ&b=%E4%BD%A0",  # a broken escape, then UTF-8 Chinese
    b"\xff\xfe=1",  # not UTF-8 at all
    b"a=1&&b=2;c=3",
    b"a=+1%2B&a=2",  # plus signs, a repeated name
    b"",
]


def _environ(body: bytes, content_type: str = FORM, length: int | None = None) -> dict[str, object]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/voice/step",
        "SERVER_NAME": "hotline.test",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body) if length is None else length),
        "wsgi.input": io.BytesIO(body),
    }


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize(
    "content_type", [FORM, FORM + "; charset=utf-8", " Application/X-WWW-Form-URLEncoded "]
)
def test_form_is_werkzeugs(body: bytes, content_type: str) -> None:
    ours = WebhookRequest(_environ(body, content_type)).form
    theirs = Request(_environ(body, content_type)).form
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))


def test_other_content_types_go_to_werkzeug() -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="Digits"\r\n\r\n7\r\n--b--\r\n'
    request = WebhookRequest(_environ(body, "multipart/form-data; boundary=b"))
    assert request.form["Digits"] == "7"


def test_a_body_over_the_limit_is_refused() -> None:
    request = WebhookRequest(_environ(b"a=1", length=10_000))
    request.max_content_length = 100
    with pytest.raises(RequestEntityTooLarge):
        _ = request.form


@pytest.mark.parametrize("length", ["", "-1", "abc", "٣"])  # missing, negative, garbage, a non-ASCII digit
def test_an_odd_content_length_is_werkzeugs_business(length: str) -> None:
    environ = _environ(b"a=1") | {"CONTENT_LENGTH": length}
    ours = WebhookRequest(dict(environ, **{"wsgi.input": io.BytesIO(b"a=1")})).form
    theirs = Request(dict(environ, **{"wsgi.input": io.BytesIO(b"a=1")})).form
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))


def test_a_chunked_body_goes_to_werkzeug() -> None:
    environ = _environ(b"a=1") | {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}
    ours = WebhookRequest(dict(environ, **{"wsgi.input": io.BytesIO(b"a=1")})).form
    theirs = Request(dict(environ, **{"wsgi.input": io.BytesIO(b"a=1")})).form
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True)) == [("a", "1")]


ODD_QUERIES = [
    "v=1&n=main&l=zh-CN&t=0&s=1",
    "=1&a==b&+=+&%2B+%20=%",  # an empty name, '=' in a value, plus signs, a lone '%'
    "a=%E4%BD&b=%e4%bd%a0&c=%2",  # a cut-short UTF-8 sequence, lower-case escapes, a short escape
    "a=1&&b=2;c=3&",
    "",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_query_string_is_werkzeugs(query: str) -> None:
    environ = _environ(b"") | {"QUERY_STRING": query}
    ours, theirs = WebhookRequest(environ).args, Request(environ).args
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_fields_in_a_form_are_werkzeugs_too(query: str) -> None:
    body = query.encode()
    ours = WebhookRequest(_environ(body)).form
    theirs = Request(_environ(body)).form
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))
