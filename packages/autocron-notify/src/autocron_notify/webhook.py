"""``WebhookNotifier``: an HTTP POST of a JSON document per notification.

Standard library only (``urllib.request``). ``format`` picks the document:
``json`` (AutoCron's own fields), ``slack`` (an incoming-webhook message) or
``discord`` (a webhook message with an embed). Server errors (5xx, 429) and
connection failures are retried a bounded number of times with exponential
backoff; other answers are final. Redirects are not followed, so an
``Authorization`` header never travels to another host.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from autocron_core.errors import ConfigError, NotificationError
from autocron_core.events import Event

from . import env
from ._render import Rendered, render
from ._settings import as_int, as_seconds, reject_unknown, warn_literal_secret

__all__ = ["FORMATS", "WebhookNotifier", "payload_for"]

logger = logging.getLogger("autocron.notify.webhook")

FORMATS = ("json", "slack", "discord")
SETTINGS = (
    "url", "headers", "token", "token_env", "format", "timeout", "retries", "retry_delay", "max_retry_delay",
    "ca_file", "sleep",
)  # fmt: skip
_RED, _GREEN, _AMBER = 0xB00020, 0x1B5E20, 0xF9A825


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload_for(rendered: Rendered, fmt: str = "json") -> dict[str, Any]:
    """The JSON document for one notification in ``fmt`` (``json``, ``slack`` or ``discord``)."""
    values = rendered.values
    if fmt == "slack":
        lines = [f"*{_slack_escape(rendered.title)}*", _slack_escape(rendered.summary)]
        lines += [
            f"*{_slack_escape(k)}:* {_slack_escape(v)}" for k, v in rendered.fields.items() if k != "Task"
        ]
        if values["output"]:
            lines.append("```" + _slack_escape(_clip(values["output"], 2500)) + "```")
        return {"text": _clip("\n".join(lines), 3900)}
    if fmt == "discord":
        colour = _GREEN if not rendered.bad else _AMBER if rendered.category == "retry" else _RED
        embed: dict[str, Any] = {
            "title": _clip(rendered.title, 256),
            "description": _clip(values["error"] or rendered.summary, 4000),
            "color": colour,
            "timestamp": values["time"],
            "fields": [
                {"name": _clip(k, 256), "value": _clip(v, 1024), "inline": len(v) < 40}
                for k, v in list(rendered.fields.items())[:25]
            ],
        }
        if values["output"]:
            embed["fields"].append(
                {"name": "Output (last lines)", "value": _clip(values["output"], 1000), "inline": False}
            )
            embed["fields"] = embed["fields"][:25]
        return {
            "content": _clip(rendered.summary, 2000),
            "embeds": [embed],
            "allowed_mentions": {"parse": []},
        }
    return {
        "source": "autocron",
        "title": rendered.title,
        "summary": rendered.summary,
        **{
            key: values[key] or None
            for key in (
                "task",
                "status",
                "category",
                "kind",
                "scheduled_for",
                "time",
                "error",
                "node",
                "output",
            )
        },
        "attempt": int(values["attempt"]) if values["attempt"] else None,
        "duration": float(values["duration"].split()[0]) if values["duration"] else None,
        "failures": int(values["failures"]) if values["failures"] else None,
        "suppressed": int(values["suppressed"]) if values["suppressed"] else None,
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is then raised as an HTTPError: a final answer


class WebhookNotifier:
    """POSTs each notification as JSON to ``url``.

    Args:
        url: an ``http://`` or ``https://`` URL (``AUTOCRON_WEBHOOK_URL`` when omitted).
        headers: extra request headers.
        token_env: an environment variable holding a token, sent as
            ``Authorization: Bearer <token>`` (read at each send).
        token: a literal token (works, but warns once: prefer ``token_env``).
        format: ``json`` (default), ``slack`` or ``discord``.
        timeout: seconds per attempt (default 10).
        retries: extra attempts after a 5xx, a 429 or a connection failure (default 3).
        retry_delay: seconds before the first retry, doubling each time (default 1).
        max_retry_delay: the longest wait between attempts (default 30).
        ca_file: a PEM file of CA certificates to trust for ``https``.
        sleep: how to wait between attempts (tests; default ``time.sleep``).

    Raises:
        ConfigError: a setting is missing or not valid (names the setting).
    """

    name = "webhook"

    def __init__(
        self,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        token_env: str | None = None,
        token: str | None = None,
        format: str = "json",
        timeout: float | str = 10.0,
        retries: int | str = 3,
        retry_delay: float | str = 1.0,
        max_retry_delay: float | str = 30.0,
        ca_file: str | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        url = url or env.webhook_url_from_env()
        parts = urlsplit(url) if isinstance(url, str) else None
        if (
            not isinstance(url, str)
            or parts is None
            or parts.scheme not in ("http", "https")
            or not parts.netloc
        ):
            # The value is not echoed: a webhook URL usually carries its secret in the path.
            raise ConfigError(
                f"url: expected an http:// or https:// URL (or set {env.AUTOCRON_WEBHOOK_URL}), "
                f"got {'nothing' if not url else 'another kind of text'}",
                field="url",
            )
        self.url: str = url
        # Slack and Discord put the secret in the path: logs and errors name the host only.
        self._where = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"
        if format not in FORMATS:
            raise ConfigError(f"format={format!r}: expected one of {', '.join(FORMATS)}", field="format")
        self.format = format
        if headers is not None and (
            not isinstance(headers, Mapping)
            or not all(
                isinstance(k, str) and isinstance(v, str) and "\n" not in k + v and "\r" not in k + v
                for k, v in headers.items()
            )
        ):
            # Only the names: a header value is often a credential.
            names = list(headers) if isinstance(headers, Mapping) else type(headers).__name__
            raise ConfigError(
                f"headers (names {names!r}; values not shown): expected a mapping of header names "
                "to one-line texts",
                field="headers",
            )
        self.headers = dict(headers or {})
        if token_env is not None and (not isinstance(token_env, str) or not token_env):
            raise ConfigError(
                f"token_env={token_env!r}: expected an environment variable name", field="token_env"
            )
        self.token_env = token_env
        if token is not None:
            if not isinstance(token, str):
                raise ConfigError(f"token: expected text, got {type(token).__name__}", field="token")
            token = env.clean_secret("token", token)
            warn_literal_secret(logger, "webhook", "token")
        self._token = token
        self.timeout = as_seconds("timeout", timeout)
        self.retries = as_int("retries", retries, 0, 10)
        self.retry_delay = as_seconds("retry_delay", retry_delay, allow_zero=True)
        self.max_retry_delay = as_seconds("max_retry_delay", max_retry_delay, allow_zero=True)
        handlers: list[Any] = [_NoRedirect()]
        if ca_file is not None:
            import ssl

            try:
                context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"ca_file={ca_file!r}: expected a readable PEM file ({exc})", field="ca_file"
                ) from None
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        self._sleep = sleep or time.sleep
        from autocron_core import __version__

        # Discord's edge refuses urllib's default agent.
        self._agent = f"AutoCron/{__version__} (+https://pypi.org/project/autocron-notify/)"
        self.delivered = 0
        self.failures = 0
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebhookNotifier:
        """Build from a settings mapping (what the dispatcher passes).

        Raises:
            ConfigError: an unknown or invalid setting.
        """
        reject_unknown(config, SETTINGS, "webhook")
        return cls(**dict(config))

    def __repr__(self) -> str:
        return f"WebhookNotifier(url={self._where!r}, format={self.format!r})"

    def _request_headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self._agent,
            **self.headers,
        }
        token = self._token
        if self.token_env is not None:
            try:
                token = env.secret_from_env("token_env", self.token_env)
            except ConfigError as exc:
                raise NotificationError(str(exc)) from None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def notify(self, event: Event) -> None:
        """POST one notification, retrying server errors a bounded number of times.

        Raises:
            NotificationError: the last attempt failed (the reason is in the message).
        """
        body = json.dumps(payload_for(render(event), self.format)).encode("utf-8")
        try:
            self.post(body)
        except NotificationError:
            with self._lock:
                self.failures += 1
            raise
        with self._lock:
            self.delivered += 1

    def post(self, body: bytes) -> int:
        """POST ``body``; returns the HTTP status of the accepted attempt.

        Raises:
            NotificationError: a final failure, naming the host, never the URL's path.
        """
        headers = self._request_headers()
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    response.read()
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                retry = exc.code >= 500 or exc.code == 429
                reason = f"HTTP {exc.code} {exc.reason}"
                exc.close()
            except (urllib.error.URLError, OSError) as exc:
                retry = True
                cause = getattr(exc, "reason", exc)
                reason = (
                    "timed out"
                    if isinstance(cause, TimeoutError) or isinstance(exc, TimeoutError)
                    else str(cause)
                )
            if not retry or attempt == attempts:
                tried = f" after {attempt} attempt(s)" if attempt > 1 else ""
                raise NotificationError(f"webhook {self._where} failed{tried}: {reason}")
            delay = min(self.retry_delay * 2 ** (attempt - 1), self.max_retry_delay)
            logger.info(
                "webhook %s attempt %d failed (%s); retrying in %gs", self._where, attempt, reason, delay
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
