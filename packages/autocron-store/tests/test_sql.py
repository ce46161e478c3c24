"""SqlStore specifics: URLs, schema versions, retention, faults and the default database."""

from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import update

from autocron_core import AutoCron
from autocron_core.errors import ConfigError, StoreError
from autocron_core.records import RunRecord, RunStatus
from autocron_store import SqlStore
from autocron_store._schema import SCHEMA_VERSION
from autocron_store._urls import parse_store_url

from .conftest import read_only, run_unprivileged

UTC = _dt.timezone.utc


def _done(task: str, minutes_ago: float, attempt: int = 1) -> RunRecord:
    when = _dt.datetime.now(UTC) - _dt.timedelta(minutes=minutes_ago)
    return RunRecord(task, when, attempt, RunStatus.SUCCEEDED, when, when + _dt.timedelta(seconds=1))


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("mysql://u@h/db", "mysql+pymysql"),
        ("mysql+pymysql://u@h/db", "mysql+pymysql"),
        ("mariadb://u@h/db", "mariadb+pymysql"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_url_driver_mapping(url: str, driver: str) -> None:
    """Plain URLs get the psycopg 3 or PyMySQL driver."""
    assert parse_store_url(url).url.drivername == driver


def test_url_store_options_are_read_and_removed() -> None:
    """keep_runs/keep_days are the store's options, not the driver's."""
    parsed = parse_store_url("postgresql://u:secret@h/db?keep_runs=5&keep_days=2&sslmode=require")
    assert parsed.options == {"keep_runs": "5", "keep_days": "2"}
    assert dict(parsed.url.query) == {"sslmode": "require"}
    assert "secret" not in parsed.safe


def test_unsupported_url_is_a_config_error() -> None:
    """An unknown database scheme is refused."""
    with pytest.raises(ConfigError, match="sqlite"):
        parse_store_url("oracle://u@h/db")


def test_bare_path_is_an_sqlite_file(tmp_path: Path) -> None:
    """A bare path opens an SQLite file created with mode 0600."""
    store = SqlStore(str(tmp_path / "sub" / "a.db"))
    store.close()
    assert os.stat(tmp_path / "sub" / "a.db").st_mode & 0o777 == 0o600


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    """SQLite files are in WAL mode so readers never block the scheduler."""
    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}")
    with store._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_default_database_is_in_autocron_home(autocron_home: Path) -> None:
    """Without a URL the store opens $AUTOCRON_HOME/autocron.db."""
    store = SqlStore()
    store.close()
    assert (autocron_home / "autocron.db").exists()


def test_autocron_database_variable_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AUTOCRON_DATABASE picks another file."""
    monkeypatch.setenv("AUTOCRON_DATABASE", str(tmp_path / "other.db"))
    SqlStore().close()
    assert (tmp_path / "other.db").exists()


def test_not_an_sqlite_file_is_refused_and_kept(tmp_path: Path) -> None:
    """A file that is not SQLite gives StoreError naming it and is not modified."""
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not an SQLite database") as info:
        SqlStore(f"sqlite:///{path}")
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


def test_newer_schema_version_is_refused_and_data_kept(tmp_path: Path) -> None:
    """A database from a newer AutoCron gives StoreError saying so; nothing is changed."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = SqlStore(url)
    store.finish_run(_done("job", 1))
    with store._engine.begin() as conn:
        conn.execute(update(store.tables.version).values(version=SCHEMA_VERSION + 1))
    store.close()
    with pytest.raises(StoreError, match="newer"):
        SqlStore(url)


def test_newer_schema_version_keeps_rows(tmp_path: Path) -> None:
    """Refusing a newer schema deletes no row."""
    import sqlite3

    path = tmp_path / "a.db"
    store = SqlStore(f"sqlite:///{path}")
    store.finish_run(_done("job", 1))
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="version 99"):
        SqlStore(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_unreachable_server_is_a_store_error_without_password(caplog: pytest.LogCaptureFixture) -> None:
    """An unreachable PostgreSQL server gives StoreError naming the URL, never its password."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreError) as info:
        SqlStore("postgresql://alice:s3cr3t-pw@127.0.0.1:1/db?connect_timeout=2")
    assert "127.0.0.1" in str(info.value)
    assert "s3cr3t-pw" not in str(info.value)
    assert "s3cr3t-pw" not in caplog.text


def test_unreachable_mysql_is_a_store_error() -> None:
    """An unreachable MariaDB server gives StoreError naming the URL, never its password."""
    with pytest.raises(StoreError) as info:
        SqlStore("mysql://bob:pw-zz9@127.0.0.1:1/db?connect_timeout=2")
    assert "127.0.0.1" in str(info.value) and "pw-zz9" not in str(info.value)


def _read_only_sql(folder: Path) -> list[str]:
    """Fill a database, make its folder read-only, open it again and create another there."""
    url = f"sqlite:///{folder / 'kept.db'}"
    now = _dt.datetime(2026, 1, 1, tzinfo=UTC)
    store = SqlStore(url)
    store.finish_run(RunRecord("job", now, 1, RunStatus.SUCCEEDED, now, now))
    store.close()
    lines = []
    try:
        if not read_only(folder):
            return ["UNENFORCED"]
        for target in (url, f"sqlite:///{folder / 'a.db'}"):
            try:
                SqlStore(target).close()
                lines.append(f"OPENED {target}")
            except StoreError as exc:
                lines.append(f"ERROR {exc}")
    finally:
        folder.chmod(0o700)
    store = SqlStore(url)
    lines.append(f"KEPT {len(store.history('job'))}")
    store.close()
    return lines


def test_read_only_folder_is_a_store_error(open_folder: Path, tmp_path: Path) -> None:
    """In a read-only folder, opening or creating a database gives StoreError naming it; rows survive."""
    lines = run_unprivileged(_read_only_sql, open_folder, tmp_path)
    errors = [line for line in lines if line.startswith("ERROR")]
    assert len(errors) == 2, lines
    assert "kept.db" in errors[0] and "readonly" in errors[0]
    assert "a.db" in errors[1]
    assert lines[-1] == "KEPT 1"


def test_path_under_a_file_is_a_store_error(tmp_path: Path) -> None:
    """A database path whose folder is a file gives StoreError naming it."""
    (tmp_path / "plain").write_text("x")
    with pytest.raises(StoreError, match="plain"):
        SqlStore(f"sqlite:///{tmp_path / 'plain' / 'a.db'}")


def test_prune_keeps_the_newest_runs_per_task(tmp_path: Path) -> None:
    """keep_runs keeps each task's newest records and drops older ones."""
    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}?keep_runs=5&keep_days=0")
    assert (store.keep_runs, store.keep_days) == (5, None)
    for i in range(12):
        store.finish_run(_done("a", i))
        store.finish_run(_done("b", i, attempt=2))
    store.finish_run(_done("c", 1))
    assert store.prune() == 14
    newest = [r.scheduled_for for r in store.history("a", 100)]
    assert len(newest) == 5 and newest == sorted(newest, reverse=True)
    assert len(store.history("b", 100)) == 5 and len(store.history("c", 100)) == 1
    store.close()


def test_prune_drops_runs_older_than_keep_days(tmp_path: Path) -> None:
    """keep_days drops finished records scheduled longer ago, never running claims."""
    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}", keep_runs=None, keep_days=1)
    store.finish_run(_done("a", 3 * 24 * 60))
    store.finish_run(_done("a", 10))
    store.claim_run(_done("a", 4 * 24 * 60)._replace(status=RunStatus.RUNNING, finished_at=None))
    assert store.prune() == 1
    assert len(store.history("a")) == 2
    store.close()


def test_pruning_runs_in_the_background(tmp_path: Path) -> None:
    """After enough finished runs the pruner thread trims the history of the tasks that ran."""
    import threading

    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}", keep_runs=3, keep_days=None)
    for i in range(6):  # finished before the pruner counts: only a full prune sees "old"
        store.claim_run(_done("old", i))
    pruned = threading.Event()
    asked: list[set[str] | None] = []
    original = store.prune

    def prune(tasks: set[str] | None) -> int:
        asked.append(tasks)
        removed = original(tasks)
        pruned.set()
        return removed

    store._pruner._prune = prune
    store._pruner._every = 16
    store._pruner._finished, store._pruner._count = [], 0
    for i in range(5):
        store.finish_run(_done("a", i))
    store.finish_runs([_done("b", i) for i in range(5)])
    store.finish_runs([_done("a", i) for i in range(5, 11)])
    assert pruned.wait(30)
    assert asked == [{"a", "b"}]
    assert len(store.history("a")) == 3 and len(store.history("b")) == 3
    assert len(store.history("old")) == 6  # not among the tasks that ran: left to the hourly prune
    assert store.prune() == 3
    assert len(store.history("old")) == 3
    store.close()


def test_prune_of_named_tasks_reads_them_in_chunks(tmp_path: Path) -> None:
    """prune(tasks) trims exactly the named tasks, however many are named."""
    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}", keep_runs=2, keep_days=None)
    store._pruner.stop()  # only the calls below prune
    names = [f"t{i:04d}" for i in range(1200)]  # more than one query's worth of names
    store.finish_runs([_done(name, i) for name in names for i in range(3)])
    assert store.prune({*names[:700], "absent"}) == 700
    assert {len(store.history(name)) for name in names[:700]} == {2}
    assert {len(store.history(name)) for name in names[700:]} == {3}
    store.close()


def test_autocron_opens_an_sqlite_url_through_the_registry(tmp_path: Path) -> None:
    """AutoCron(store="sqlite:///...") gets a SqlStore from the entry point."""
    scheduler = AutoCron(store=f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert isinstance(scheduler.store, SqlStore) and scheduler.store.persistent
    finally:
        scheduler.close()


def test_heartbeat_records_nodes(tmp_path: Path) -> None:
    """heartbeat() keeps one row per node with its first and last beat."""
    from sqlalchemy import select

    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}")
    store.heartbeat("n1")
    store.heartbeat("n1")
    with store._engine.connect() as conn:
        rows = conn.execute(select(store.tables.nodes)).all()
    assert len(rows) == 1 and rows[0].heartbeat_at_us >= rows[0].started_at_us
    store.close()


def test_table_prefix(tmp_path: Path) -> None:
    """?prefix= puts every table under a prefix."""
    from sqlalchemy import inspect

    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}?prefix=ac_")
    with store._engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {
            "ac_tasks",
            "ac_runs",
            "ac_nodes",
            "ac_schema_version",
        }
    store.close()
