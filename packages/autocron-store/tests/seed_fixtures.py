"""Artefacts of the original AutoCron (autocron-scheduler), built as it built them.

The database uses the original's own ``CREATE TABLE`` statements and ``PRAGMA
user_version = 1`` and journal mode WAL (storage.py at its last release);
rows are shaped like its ``add_task`` (``payload_json`` is ``Task.to_dict()``
without secrets, with ``task_id``/``enabled``/counters defaulted) and its
``record_execution`` (``timestamp`` written when the run ended, UTC ISO).
The ``analytics.json`` is what versions 1.1 and 1.2 wrote: per task, counters
and the last 100 executions, with naive local ``datetime.now()`` timestamps.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SEED_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS tasks (
                task_id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                script TEXT NOT NULL,
                schedule_type TEXT NOT NULL CHECK (schedule_type IN ('interval', 'cron')),
                schedule_value TEXT NOT NULL,
                enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
                payload_json TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
    """CREATE INDEX IF NOT EXISTS idx_tasks_enabled_name
                ON tasks(enabled, name)""",
    """CREATE TABLE IF NOT EXISTS executions (
                execution_id INTEGER PRIMARY KEY AUTOINCREMENT,
                task_id TEXT,
                task_name TEXT NOT NULL,
                timestamp TEXT NOT NULL,
                success INTEGER NOT NULL CHECK (success IN (0, 1)),
                duration REAL NOT NULL CHECK (duration >= 0),
                error TEXT,
                retry_count INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
                metadata_json TEXT NOT NULL DEFAULT '{}',
                FOREIGN KEY (task_id) REFERENCES tasks(task_id) ON DELETE SET NULL
            )""",
    """CREATE INDEX IF NOT EXISTS idx_executions_task_time
                ON executions(task_name, timestamp DESC, execution_id DESC)""",
)

CREATED = "2025-11-02T08:00:00.123456+00:00"


def seed_payload(name: str, script: str, **changes: Any) -> dict[str, Any]:
    """A task's ``to_dict()`` as the original's last release wrote it (every field it had)."""
    payload: dict[str, Any] = {
        "task_id": f"0b6f-{name}",
        "name": name,
        "script": script,
        "schedule_type": "interval",
        "schedule_value": "5m",
        "every": "5m",
        "cron": None,
        "retries": 2,
        "retry_delay": 30,
        "timeout": 120,
        "notify": None,
        "email_config": None,
        "enabled": True,
        "safe_mode": False,
        "max_memory_mb": None,
        "max_cpu_percent": None,
        "clean_env": False,
        "max_output_bytes": 1000000,
        "timezone": "UTC",
        "overlap_policy": "skip",
        "max_instances": 1,
        "misfire_grace_time": 60.0,
        "coalesce": True,
        "last_run": "2025-11-03T09:15:00.500000+00:00",
        "next_run": "2025-11-03T09:20:00.500000+00:00",
        "run_count": 41,
        "fail_count": 3,
        "skipped_count": 0,
        "misfire_count": 0,
    }
    payload.update(changes)
    if payload["schedule_type"] == "cron":
        payload["every"], payload["cron"] = None, payload["schedule_value"]
    return payload


def make_seed_db(
    path: Path,
    tasks: list[dict[str, Any]],
    executions: list[dict[str, Any]],
) -> Path:
    """An SQLite file in the original's schema holding ``tasks`` (payloads) and ``executions``."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN IMMEDIATE")
    for statement in SEED_SCHEMA:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    for payload in tasks:
        conn.execute(
            "INSERT INTO tasks (task_id, name, script, schedule_type, schedule_value, enabled, "
            "payload_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                payload["task_id"],
                payload["name"],
                payload["script"],
                payload["schedule_type"],
                payload["schedule_value"],
                int(bool(payload["enabled"])),
                json.dumps(payload, sort_keys=True),
                CREATED,
                CREATED,
            ),
        )
    for row in executions:
        task = conn.execute("SELECT task_id FROM tasks WHERE name = ?", (row["task_name"],)).fetchone()
        conn.execute(
            "INSERT INTO executions (task_id, task_name, timestamp, success, duration, error, "
            "retry_count, metadata_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                task[0] if task else None,
                row["task_name"],
                row["timestamp"],
                int(bool(row["success"])),
                float(row["duration"]),
                row.get("error"),
                int(row.get("retry_count", 0)),
                json.dumps(row.get("metadata", {}), sort_keys=True),
            ),
        )
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    return path


def make_analytics(path: Path, history: dict[str, list[dict[str, Any]]]) -> Path:
    """An ``analytics.json`` as versions 1.1 and 1.2 wrote it, from per-task executions."""
    data: dict[str, Any] = {}
    for task, runs in history.items():
        data[task] = {
            "total_runs": len(runs),
            "successful_runs": sum(1 for r in runs if r["success"]),
            "failed_runs": sum(1 for r in runs if not r["success"]),
            "total_duration": sum(r["duration"] for r in runs),
            "total_retries": sum(r.get("retry_count", 0) for r in runs),
            "history": [
                {
                    "timestamp": r["timestamp"],
                    "success": r["success"],
                    "duration": r["duration"],
                    "error": r.get("error"),
                    "retry_count": r.get("retry_count", 0),
                }
                for r in runs
            ],
            "first_run": runs[0]["timestamp"] if runs else None,
            "last_run": runs[-1]["timestamp"] if runs else None,
        }
    path.write_text(json.dumps(data, indent=2, default=str))
    return path
