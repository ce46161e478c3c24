"""The web dashboard as an ASGI application (Starlette): pages, live parts, actions, metrics.

``WebDashboard(source, host=..., token=...)`` builds it; ``.app`` is what an
ASGI server serves (``serve_dashboard`` runs uvicorn in a thread). Every store
read runs on one reading thread, so an SQLite reader's single connection is
only ever used where it was opened and the event loop stays free for the
requests that wait for live changes.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autocron_core.errors import AutoCronError, TaskError
from autocron_dash._source import Source, as_source

from ._actions import Actions
from ._context import overview, runs_view, task_view
from ._history import parse_filters
from ._live import HOLD, Changes, watch_store
from ._security import SESSION_COOKIE, Keys, host_allowed, is_loopback

__all__ = ["CSP", "MAX_FORM_BYTES", "WebDashboard"]

logger = logging.getLogger("autocron.dash.web")

_HERE = Path(__file__).parent
_T = TypeVar("_T")
#: The Content-Security-Policy of every response: our own script and styles only, nothing inline.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
#: Largest action or login form read; more is answered 413.
MAX_FORM_BYTES = 64 * 1024
_DONE = {"run": "Run started.", "paused": "Paused.", "resumed": "Resumed.", "backfill": "Backfill started."}


class _Guard:
    """Host check and security headers around the whole application."""

    def __init__(self, app: ASGIApp, loopback: bool) -> None:
        self.app = app
        self.loopback = loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        if not host_allowed(host, self.loopback):
            # DNS rebinding: a page of another name that resolves to loopback reads nothing here.
            response = PlainTextResponse(
                "421 misdirected request: this dashboard answers only to a loopback host name "
                "(127.0.0.1, ::1 or localhost)\n",
                status_code=421,
            )
            await self._with_headers(response, scope, receive, send)
            return
        await self._with_headers(self.app, scope, receive, send)

    async def _with_headers(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await app(scope, receive, send_with_headers)


class WebDashboard:
    """The dashboard application over one scheduler or store.

    Args:
        source: an ``AutoCron`` scheduler, a store, a store URL or database path.
        host: the address it will be served on (decides the reading rules).
        token: the action token; ``None`` turns actions off.
        by: who a pause is recorded as made by.
    """

    def __init__(
        self, source: Any, *, host: str = "127.0.0.1", token: str | None = None, by: str = "web"
    ) -> None:
        self.keys = Keys(token)
        self.loopback = is_loopback(host)
        self.changes = Changes()
        self.by = by
        self._reads = ThreadPoolExecutor(1, thread_name_prefix="autocron-web-read")
        self._opened_here = False
        self._source: Source | None = None
        self._opener: Callable[[], Source] | None = None
        scheduler = None
        store_target: Any = None
        if isinstance(source, (str, os.PathLike)):
            url = _url_of(os.fspath(source))
            self._opener = lambda: _open_source(url)
            store_target = url
        elif _is_reader(source):
            url = source.url
            self._opener = lambda: _open_source(url)  # its sqlite3 connection belongs to another thread
            store_target = url
        else:
            self._source = as_source(source)
            scheduler = self._source.scheduler
            if scheduler is None and callable(getattr(self._source.store, "save_task", None)):
                store_target = self._source.store
        self.actions: Actions | None = None
        if scheduler is not None or store_target is not None:
            self.actions = Actions(scheduler, store_target, on_change=self.changes.bump)
        self._listening = False
        self.templates = Environment(
            loader=FileSystemLoader(_HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["query"] = lambda values: urlencode(values, quote_via=quote)
        self.templates.filters["q"] = lambda text: quote(str(text), safe="")
        routes = [
            Route("/", self.page_overview),
            Route("/live/overview", self.live_overview),
            Route("/task", self.page_task),
            Route("/live/task", self.live_task),
            Route("/runs", self.page_runs),
            Route("/live/runs", self.live_runs),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/actions/{action}", self.act, methods=["POST"]),
            Route("/metrics", self.metrics),
            Route("/healthz", self.healthz),
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        ]
        inner = Starlette(routes=routes, lifespan=self._lifespan)
        self.app: ASGIApp = _Guard(inner, self.loopback)
        self._metrics: Any = None

    # -- life -----------------------------------------------------------------
    @asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.changes.bind(asyncio.get_running_loop())
        source = await self.read(self.source)
        watcher = None
        if source.scheduler is not None:
            source.scheduler.add_listener(self._on_event)
            self._listening = True
        else:
            started = asyncio.Event()
            watcher = asyncio.create_task(watch_store(self.changes, self.read, self.source, started))
            await started.wait()
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            if self._listening and source.scheduler is not None:
                source.scheduler.remove_listener(self._on_event)
                self._listening = False
            detach = getattr(self._metrics, "detach", None)
            if detach is not None:
                detach()
            await self.read(self._close_source)
            self._reads.shutdown(wait=False)

    def _on_event(self, _event: Any) -> None:
        self.changes.bump()

    def source(self) -> Source:
        """The source, opened on first use (call on the reading thread)."""
        if self._source is None:
            if self._opener is None:  # pragma: no cover - __init__ sets one or the other
                raise RuntimeError("the dashboard has neither a source nor a way to open one")
            self._source = self._opener()
            self._opened_here = True
        return self._source

    def _close_source(self) -> None:
        if self._opened_here and self._source is not None:
            self._source.store.close()
            self._source = None

    async def read(self, func: Callable[[], _T]) -> _T:
        """Run ``func`` on the reading thread."""
        return await asyncio.get_running_loop().run_in_executor(self._reads, func)

    # -- who is asking ----------------------------------------------------------
    def _session(self, request: Request) -> str | None:
        return self.keys.session_id(request.cookies.get(SESSION_COOKIE))

    def _authorised(self, request: Request) -> bool:
        if self._session(request) is not None:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.keys.token_matches(value.strip())

    def _may_read(self, request: Request) -> bool:
        return self.loopback or self._authorised(request)

    def _cross_origin(self, request: Request) -> bool:
        """Whether a POST comes from another site (its Origin or Sec-Fetch-Site says so)."""
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return True
        origin = request.headers.get("origin")
        if origin is None:
            return False  # not a browser form (curl, a script): the session and CSRF token still apply
        if origin == "null":
            # Our Referrer-Policy (no-referrer) makes browsers send "Origin: null" on our own
            # forms; then only a browser's own word that the request is same-origin will do.
            return request.headers.get("sec-fetch-site") != "same-origin"
        return origin != f"{request.url.scheme}://{request.headers.get('host', '')}"

    # -- rendering --------------------------------------------------------------
    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """A page from ``template`` with what every page needs."""
        session = self._session(request)
        values: dict[str, Any] = {
            "session": session is not None,
            "csrf": self.keys.csrf_token(session) if session else None,
            "actions": self.actions,
            "actions_enabled": self.actions is not None and self.keys.actions_enabled,
            "path": request.url.path,
            "query": request.url.query,
            "version": self.changes.version,
            **context,
        }
        body = self.templates.get_template(template).render(values)
        return HTMLResponse(body, status_code=status_code, headers={"cache-control": "no-store"})

    def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        """An error page saying what was wrong in one line."""
        return self.render(request, "error.html", status_code=status, message=message)

    def _refuse_reading(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target}, quote_via=quote)}", status_code=303)

    async def _view(
        self, request: Request, template: str, build: Callable[[], dict[str, Any] | None], live: bool
    ) -> Response:
        if not self._may_read(request):
            if live:
                return PlainTextResponse("log in with the token to read this dashboard\n", status_code=401)
            return self._refuse_reading(request)
        if live:
            try:
                seen = int(request.query_params.get("v", "-1"))
            except ValueError:
                return PlainTextResponse(
                    "v: expected the version number the page was drawn at\n", status_code=400
                )
            await self.changes.wait(seen, HOLD)
        version = self.changes.version  # read before the data: a change during the read draws again
        try:
            context = await self.read(build)
        except AutoCronError as exc:
            return self.error(request, 400, str(exc))
        if context is None:
            return self.error(request, 404, "no task of that name has a definition or a run on record")
        return self.render(request, template, **{"version": version, **context})

    @staticmethod
    def _now() -> _dt.datetime:
        return _dt.datetime.now(_dt.timezone.utc)

    # -- pages ------------------------------------------------------------------
    async def page_overview(self, request: Request) -> Response:
        return await self._view(request, "overview.html", lambda: overview(self.source(), self._now()), False)

    async def live_overview(self, request: Request) -> Response:
        return await self._view(
            request, "_overview_live.html", lambda: overview(self.source(), self._now()), True
        )

    def _task_builder(self, request: Request) -> Callable[[], dict[str, Any] | None]:
        name = request.query_params.get("name", "")
        filters = parse_filters(request.query_params)
        done = _DONE.get(request.query_params.get("done", ""))

        def build() -> dict[str, Any] | None:
            context = task_view(self.source(), name, filters, self._now())
            if context is not None:
                context.update(name=name, filters=filters, done=done)
            return context

        return build

    async def page_task(self, request: Request) -> Response:
        try:
            build = self._task_builder(request)
        except AutoCronError as exc:
            return self.error(request, 400, str(exc))
        return await self._view(request, "task.html", build, False)

    async def live_task(self, request: Request) -> Response:
        try:
            build = self._task_builder(request)
        except AutoCronError as exc:
            return PlainTextResponse(str(exc) + "\n", status_code=400)
        return await self._view(request, "_task_live.html", build, True)

    def _runs_builder(self, request: Request) -> Callable[[], dict[str, Any]]:
        filters = parse_filters(request.query_params)

        def build() -> dict[str, Any]:
            return {**runs_view(self.source(), filters, self._now()), "filters": filters}

        return build

    async def page_runs(self, request: Request) -> Response:
        try:
            build = self._runs_builder(request)
        except AutoCronError as exc:
            return self.error(request, 400, str(exc))
        return await self._view(request, "runs.html", build, False)

    async def live_runs(self, request: Request) -> Response:
        try:
            build = self._runs_builder(request)
        except AutoCronError as exc:
            return PlainTextResponse(str(exc) + "\n", status_code=400)
        return await self._view(request, "_runs_live.html", build, True)

    # -- login and actions --------------------------------------------------------
    async def _form(self, request: Request) -> dict[str, str] | None:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in fields.items()}

    @staticmethod
    def _next(value: str | None) -> str:
        # Only a path on this site: "//evil.example" or "https://..." would make an open redirect.
        if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
            return value
        return "/"

    async def login(self, request: Request) -> Response:
        nxt = self._next(request.query_params.get("next"))
        if request.method == "GET":
            return self.render(request, "login.html", next=nxt, failed=False)
        if self._cross_origin(request):
            return self.error(request, 403, "login refused: the form was sent from another site")
        form = await self._form(request)
        if form is None:
            return self.error(request, 413, f"form too large: expected at most {MAX_FORM_BYTES} bytes")
        nxt = self._next(form.get("next"))
        if not self.keys.actions_enabled:
            return self.error(request, 403, "this dashboard has no token set, so nobody can log in")
        if not self.keys.token_matches(form.get("token")):
            client = request.client.host if request.client else "?"
            logger.warning("web dashboard: a login with a wrong token from %s", client)
            return self.render(request, "login.html", status_code=403, next=nxt, failed=True)
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            self.keys.new_session(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    async def _checked_form(self, request: Request) -> dict[str, str] | Response:
        """The form of an action POST once the session, CSRF token and origin check; else the refusal."""
        if self._cross_origin(request):
            return self.error(
                request, 403, "refused: the request came from another site (Origin or Sec-Fetch-Site)"
            )
        session = self._session(request)
        if session is None:
            return self.error(request, 403, "log in with the token first: actions need a session")
        form = await self._form(request)
        if form is None:
            return self.error(request, 413, f"form too large: expected at most {MAX_FORM_BYTES} bytes")
        if not self.keys.csrf_matches(session, form.get("csrf")):
            return self.error(request, 403, "refused: the form's CSRF token is missing or not this session's")
        return form

    async def logout(self, request: Request) -> Response:
        form = await self._checked_form(request)
        if isinstance(form, Response):
            return form
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def act(self, request: Request) -> Response:
        action = request.path_params["action"]
        if self.actions is None or not self.keys.actions_enabled:
            return self.error(request, 403, "actions are off: start the dashboard with a token")
        form = await self._checked_form(request)
        if isinstance(form, Response):
            return form
        name = form.get("name", "")
        actions = self.actions
        try:
            if action == "run":
                await asyncio.to_thread(actions.run_now, name)
            elif action == "pause":
                note = form.get("note", "").strip()[:500] or None
                await asyncio.to_thread(actions.pause, name, note, self.by)
            elif action == "resume":
                await asyncio.to_thread(actions.resume, name)
            elif action == "backfill":
                start = _moment("start", form.get("start", ""))
                end = _moment("end", form.get("end", ""))
                if end <= start:
                    raise TaskError("end", form.get("end", ""), "a moment after start")
                await asyncio.to_thread(actions.backfill, name, start, end)
            else:
                return self.error(request, 404, f"action={action!r}: expected run, pause, resume or backfill")
        except AutoCronError as exc:
            return self.error(request, 400, str(exc))
        done = {"run": "run", "pause": "paused", "resume": "resumed", "backfill": "backfill"}[action]
        return RedirectResponse(
            f"/task?{urlencode({'name': name, 'done': done}, quote_via=quote)}", status_code=303
        )

    # -- machines ---------------------------------------------------------------------
    async def metrics(self, request: Request) -> Response:
        if not self._may_read(request):
            return PlainTextResponse("send the token as 'Authorization: Bearer TOKEN'\n", status_code=401)
        from ._metrics import exposition

        body, content_type, self._metrics = await self.read(lambda: exposition(self.source(), self._metrics))
        return Response(body, media_type=content_type)

    async def healthz(self, _request: Request) -> Response:
        from ._metrics import health

        status, body = await self.read(lambda: health(self.source()))
        return JSONResponse(body, status_code=status)


def _moment(field: str, value: str) -> _dt.datetime:
    try:
        moment = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise TaskError(field, value, "a date and time as YYYY-MM-DDTHH:MM (UTC)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def _url_of(value: str) -> str:
    return value if "://" in value else f"sqlite:///{os.path.abspath(os.path.expanduser(value))}"


def _is_reader(source: Any) -> bool:
    from autocron_store._reads import SqliteReader

    return isinstance(source, SqliteReader)


def _open_source(url: str) -> Source:
    from autocron_store._reads import open_reader

    reader = open_reader(url)
    if reader is not None:
        return Source(reader)
    from autocron_core.registry import open_store

    return Source(open_store(url))
