"""Fixtures every test in the monorepo gets.

* ``AUTOCRON_HOME`` points at a fresh temporary folder for every test, so no
  test ever reads or writes a real user's ``~/.autocron``.
* ``crontab_user`` makes a throwaway user whose crontab the real ``crontab``
  program may change, removed afterwards (needs root and ``useradd``).
* ``postgres_url`` / ``mysql_url`` give a database URL with a schema (or
  database) of the test's own, dropped afterwards; ``redis_url`` a Redis URL
  with a key prefix of the test's own, whose keys are deleted afterwards. Without the server they
  skip, saying how to enable them; with ``AUTOCRON_TEST_REQUIRE_SERVICES=1``
  (set by .ci/run) an unreachable server fails the test instead.
* Hypothesis runs without its per-example deadline: the properties are about
  behaviour, and a loaded 2-core machine once made an example of a correct test
  take longer than the default 200 ms.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("autocron", deadline=None)
settings.load_profile("autocron")

POSTGRES_ENV = "AUTOCRON_TEST_POSTGRES_URL"
MYSQL_ENV = "AUTOCRON_TEST_MYSQL_URL"
REDIS_ENV = "AUTOCRON_TEST_REDIS_URL"
_REDIS_EXAMPLE = "redis://127.0.0.1:6379/0"
REQUIRE_ENV = "AUTOCRON_TEST_REQUIRE_SERVICES"


@pytest.fixture(autouse=True)
def autocron_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private AUTOCRON_HOME (and XDG/HOME-derived folders) for each test."""
    home = tmp_path_factory.mktemp("autocron-home")
    monkeypatch.setenv("AUTOCRON_HOME", str(home))
    monkeypatch.delenv("AUTOCRON_DATABASE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    return home


def _unavailable(
    what: str, env: str, detail: str, example: str = "postgresql://postgres@127.0.0.1:5432/test"
) -> None:
    message = (
        f"{what} not reachable ({detail}); set {env} to a server URL to run this test, e.g. {env}={example}"
    )
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} [{REQUIRE_ENV}=1 makes this a failure]")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        _unavailable("PostgreSQL", POSTGRES_ENV, "no URL set")
    try:
        import psycopg
    except ImportError:
        _unavailable(
            "PostgreSQL", POSTGRES_ENV, "psycopg is not installed: pip install 'autocron-store[postgres]'"
        )
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        _unavailable("PostgreSQL", POSTGRES_ENV, str(exc).strip().splitlines()[0])
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A MariaDB/MySQL URL to a fresh database, dropped after the test."""
    url = os.environ.get(MYSQL_ENV)
    if not url:
        _unavailable("MariaDB/MySQL", MYSQL_ENV, "no URL set")
    try:
        import pymysql
    except ImportError:
        _unavailable(
            "MariaDB/MySQL", MYSQL_ENV, "PyMySQL is not installed: pip install 'autocron-store[mysql]'"
        )
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("mysql+pymysql://", "mysql://"))
    database = f"t_{uuid.uuid4().hex[:12]}"
    connect = dict(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        connect_timeout=5,
    )
    try:
        conn = pymysql.connect(**connect)
    except pymysql.err.OperationalError as exc:
        _unavailable("MariaDB/MySQL", MYSQL_ENV, str(exc))
    with conn:
        conn.cursor().execute(f"CREATE DATABASE `{database}`")
    base = url.rsplit("/", 1)[0]
    yield f"{base}/{database}"
    with pymysql.connect(**connect) as conn:
        conn.cursor().execute(f"DROP DATABASE `{database}`")


def delete_redis_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix:`` (only those: other tests and helpers share the server)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis URL with a key prefix of this test's own, whose keys are deleted after the test."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        _unavailable("Redis", REDIS_ENV, "no URL set", _REDIS_EXAMPLE)
    try:
        import redis
    except ImportError:
        _unavailable(
            "Redis",
            REDIS_ENV,
            "redis-py is not installed: pip install 'autocron-store[redis]'",
            _REDIS_EXAMPLE,
        )
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        _unavailable("Redis", REDIS_ENV, str(exc).strip().splitlines()[0], _REDIS_EXAMPLE)
    prefix = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
    delete_redis_prefix(url, prefix)


@pytest.fixture
def crontab_user() -> Iterator[str]:
    """A user created for this test only, so the real ``crontab`` never touches a real crontab."""
    if shutil.which("crontab") is None or shutil.which("useradd") is None:
        pytest.skip("needs the crontab program and useradd (Debian package cron)")
    if os.geteuid() != 0:
        pytest.skip("needs root to create a throwaway user for `crontab -u`")
    user = f"autocron-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True)
    try:
        yield user
    finally:
        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True, check=False)
        subprocess.run(["userdel", user], capture_output=True, check=False)
