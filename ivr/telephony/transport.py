"""How the simulator delivers webhook requests: in-process to a Flask app, or over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

# Twilio gives up on a webhook after 15 seconds.
WEBHOOK_TIMEOUT_SECONDS = 15.0


@dataclass
class Response:
    """What the webhook server answered."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


class Transport(Protocol):
    """Sends one webhook request; raises on connection-level failures."""

    def request(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        """Send `params` form-encoded (POST) or as the query (GET, already in `url`)."""
        ...


class FlaskTransport:
    """Calls a Flask app in-process through its test client."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._client = app.test_client()

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        """POST form-encoded `params` to the absolute `url`."""
        return self.request("POST", url, params, headers)

    def request(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        """Send one request to the app, keeping scheme and Host so request.url equals `url`."""
        parts = urlsplit(url)
        raw_uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = self._client.open(
            parts.path or "/",
            method=method,
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            data=params if method == "POST" else None,
            headers=headers,
            # Real WSGI servers pass the undecoded request line on; apps that check signatures
            # against it must see the same bytes here.
            environ_overrides={"REQUEST_URI": raw_uri, "RAW_URI": raw_uri},
        )
        try:
            return Response(
                status=response.status_code,
                content_type=response.headers.get("Content-Type", ""),
                body=response.get_data(),
                headers=dict(response.headers),
            )
        finally:
            response.close()


class HttpTransport:
    """Calls a real HTTP server with requests, as Twilio's webhook client does."""

    def __init__(self, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._session = requests.Session()

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        """POST form-encoded `params` to `url`."""
        return self.request("POST", url, params, headers)

    def request(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        """Send one request; redirects are left to the simulator, like every other status."""
        response = self._session.request(
            method,
            url,
            data=params if method == "POST" else None,
            headers=headers,
            timeout=self.timeout,
            allow_redirects=False,
        )
        with response:
            return Response(
                status=response.status_code,
                content_type=response.headers.get("Content-Type", ""),
                body=response.content,
                headers=dict(response.headers),
            )

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
