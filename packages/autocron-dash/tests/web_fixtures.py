"""Real SQLite stores for the web dashboard's tests, and a server on a free loopback port."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from autocron_core import RunStatus
from autocron_store import SqlStore

from .conftest import define, fill_known_history, record, write

#: Names a user could give a task that a page must show as text, never as markup.
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "-x --rm",
    "a&b=c#frag?q",
    "x" * 200,
]


def make_db(tmp_path: Path, hostile: bool = True) -> str:
    """An SQLite store with the known history (and the hostile names); its URL."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    store = SqlStore(url)
    try:
        fill_known_history(store)
        if hostile:
            for name in HOSTILE:
                define(store, name)
                write(store, [record(name, 0, RunStatus.FAILED, error=f"boom {name}", output=f"out {name}\n")])
    finally:
        store.close()
    return url


def add_success(url: str, name: str, index: int) -> None:
    """Record one more finished run of ``name``, as another process would."""
    store = SqlStore(url)
    try:
        write(store, [record(name, index, RunStatus.SUCCEEDED, duration=1.0)])
    finally:
        store.close()


def utc(*args: int) -> _dt.datetime:
    """An aware UTC datetime."""
    return _dt.datetime(*args, tzinfo=_dt.timezone.utc)


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def login(client: Any, token: str) -> str:
    """Log ``client`` in with ``token``; the CSRF token of its session."""
    response = client.post("/login", data={"token": token, "next": "/runs"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/runs").text)
