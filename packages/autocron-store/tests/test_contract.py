"""Every store of autocron-store passes the shared store contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from autocron_core.testing.store_contract import StoreContract
from autocron_store import FileStore, SqlStore


class _FileContract(StoreContract):
    suffix = ".yaml"

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[FileStore]:
        """A file store over a new document."""
        store = FileStore(tmp_path / f"tasks{self.suffix}")
        yield store
        store.close()

    def reopen(self, store: Any) -> Any:
        return FileStore(store.path)

    def raw_text(self, store: Any) -> str:
        return Path(store.path).read_text(encoding="utf-8")

    def break_task(self, store: Any, name: str) -> bool:
        text = self.raw_text(store)
        Path(store.path).write_text(text.replace("job_script.py", "deleted_script.py", 1), encoding="utf-8")
        return True

    def test_unbuildable_task_is_reported_not_dropped(self, store: Any, script: str) -> None:
        """A task file entry that cannot be rebuilt is named with its line; the file is kept."""
        store.save_task(self.make_task(script, "broken"))
        store.save_task(self.make_task(script, "good"))
        self.break_task(store, "broken")
        before = self.raw_text(store)
        with pytest.raises(Exception, match="broken") as info:
            store.load_tasks()
        assert getattr(info.value, "line", None)
        with pytest.raises(Exception, match="broken"):
            store.save_task(self.make_task(script, "third"))
        assert self.raw_text(store) == before


class TestYamlFileStore(_FileContract):
    """FileStore over YAML."""

    suffix = ".yaml"


class TestJsonFileStore(_FileContract):
    """FileStore over JSON."""

    suffix = ".json"


class _SqlContract(StoreContract):
    def reopen(self, store: Any) -> Any:
        return SqlStore(store.url.render_as_string(hide_password=False), prefix=store.prefix)

    def raw_text(self, store: Any) -> str:
        chunks = []
        with store._engine.connect() as conn:
            for table in store.tables.metadata.sorted_tables:
                chunks.extend(json.dumps(list(row), default=str) for row in conn.execute(select(table)))
        return "\n".join(chunks)

    def break_task(self, store: Any, name: str) -> bool:
        t = store.tables.tasks
        with store._engine.begin() as conn:
            (definition,) = conn.execute(select(t.c.definition).where(t.c.name == name)).one()
            data = json.loads(definition)
            data["script"] = "/nonexistent/deleted_script.py"
            conn.execute(update(t).where(t.c.name == name).values(definition=json.dumps(data)))
        return True

    def store_url(self, store: Any) -> str:
        return str(store.url.render_as_string(hide_password=False))


class TestSqliteStore(_SqlContract):
    """SqlStore over an SQLite file."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlStore]:
        """A SQLite store in a new file."""
        store = SqlStore(f"sqlite:///{tmp_path / 'autocron.db'}")
        yield store
        store.close()


@pytest.mark.postgres
class TestPostgresStore(_SqlContract):
    """SqlStore over PostgreSQL (a private schema)."""

    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[SqlStore]:
        """A PostgreSQL store in a fresh schema."""
        store = SqlStore(postgres_url)
        yield store
        store.close()


@pytest.mark.mysql
class TestMysqlStore(_SqlContract):
    """SqlStore over MariaDB/MySQL (a private database)."""

    @pytest.fixture
    def store(self, mysql_url: str) -> Iterator[SqlStore]:
        """A MariaDB store in a fresh database."""
        store = SqlStore(mysql_url)
        yield store
        store.close()
