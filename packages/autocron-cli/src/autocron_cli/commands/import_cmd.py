"""``autocron import``: bring in what the original AutoCron (autocron-scheduler) left on disk."""

from __future__ import annotations

import os
from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import BadInput, open_store, store_url

__all__ = ["import_cmd"]


def _sqlite_file(url: str) -> str | None:
    """The file behind an ``sqlite:///`` URL (``None`` for other stores and for memory)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return os.path.abspath(path)


def _is_original_task_file(path: str) -> bool:
    from autocron_core.config import load_config
    from autocron_core.errors import ConfigError

    try:
        data, _, _ = load_config(path)
    except ConfigError:
        return True  # let the import say what is wrong with it
    return data.get("version") in ("1.0", "1", 1, 1.0)


def _discover(target: str | None) -> list[str]:
    """The original's files at its default places (its database, tasks.yaml, analytics.json)."""
    from autocron_store.seed_import import seed_database_counts, seed_default_paths

    found: list[str] = []
    for place in seed_default_paths():
        path = os.path.abspath(place)
        if path == target or path in found or not os.path.isfile(path):
            continue
        if path.endswith(".db"):
            if seed_database_counts(path) is None:
                continue
        elif path.endswith(".yaml") and not _is_original_task_file(path):
            continue  # our own save_tasks() file lives there too
        found.append(path)
    return found


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _summary(report: Any) -> str:
    verb = "to import" if report.dry_run else "imported"
    parts = [f"{_count(len(report.imported), 'task')} {verb}"]
    if report.replaced:
        parts.append(f"{len(report.replaced)} replaced")
    parts.append(f"{len(report.skipped)} skipped")
    if report.problems:
        parts.append(f"{len(report.problems)} unreadable (see the warnings)")
    runs = f"{_count(report.runs_imported, 'run')} {verb}"
    if report.runs_present:
        runs += f", {report.runs_present} already there"
    if report.runs_expired:
        runs += f", {report.runs_expired} older than the store keeps"
    return f"{report.path} (the original's {report.kind}): {', '.join(parts)}; {runs}"


@click.command("import")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--replace", is_flag=True, help="Save over tasks of the same name (default: keep them, skip).")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def import_cmd(
    ctx: click.Context, paths: tuple[str, ...], replace: bool, dry_run: bool, as_json: bool
) -> None:
    """Import the original AutoCron's database, task files or analytics.json into the store.

    Tasks keep their definitions and state; executions become run history.
    Tasks whose names the store already has are skipped (see --replace), and
    importing a file twice adds no run twice. Without PATH, the files the
    original kept at its default places are imported. When the store itself is
    the original's database, it is first moved to
    autocron.db.seed-backup-<date> and imported into a new database in its place.
    """
    import datetime as _dt

    from autocron_store.seed_import import (
        backup_path,
        import_seed,
        move_aside,
        read_seed,
        seed_database_counts,
    )

    url = store_url(ctx)
    target = _sqlite_file(url)
    # The store is the original's database itself: it is imported first, from a backup.
    occupied = target if target is not None and seed_database_counts(target) is not None else None
    sources = list(dict.fromkeys(os.path.abspath(os.path.expanduser(p)) for p in paths))
    if occupied is not None:
        sources = [occupied, *(p for p in sources if p != occupied)]
    elif not sources:
        sources = _discover(target)
        if not sources:
            raise BadInput(
                "no PATH given and no file of the original AutoCron found where it kept them ("
                + ", ".join(dict.fromkeys(os.path.abspath(p) for p in _default_places()))
                + "); give the PATH of its database, task file or analytics.json"
            )
    # Read everything before changing anything: a file in none of the formats stops here (exit 2).
    data = [read_seed(path) for path in sources]
    now = _dt.datetime.now()
    moved: dict[str, str] | None = None
    store: Any = None
    if occupied is not None:
        if dry_run:
            moved = {"from": occupied, "to": backup_path(occupied, now)}
        else:
            moved = {"from": occupied, "to": move_aside(occupied, now)}
            data[0].path = moved["to"]
    if occupied is None or not dry_run:  # a dry run in place imports into what would be a new database
        store = open_store(ctx)
    # Without a store (a dry run in place), count with the limits the new database will have.
    retention = _retention_of(url) if store is None else None
    try:
        reports = [
            import_seed(item, store, replace=replace, dry_run=dry_run, retention=retention) for item in data
        ]
    finally:
        if store is not None:
            store.close()
    if as_json:
        output.json_out(
            {"dry_run": dry_run, "moved": moved, "sources": [report.to_dict() for report in reports]}
        )
        return
    if moved is not None:
        verb = "would move" if dry_run else "moved"
        output.line(
            f"{verb} the original's database {moved['from']} to {moved['to']} (kept as a backup); "
            f"its data goes into a new AutoCron database at {moved['from']}"
        )
    for report in reports:
        output.line(_summary(report))
        for name, why in report.skipped:
            output.line(f"  skipped task {name!r}: {why}")
        for what, why in report.problems:
            output.warning(f"{report.path}: {what} not imported: {why}")
        for text in report.notes:
            output.warning(f"{report.path}: {text}")
    if dry_run:
        output.note("dry run: nothing was changed")


def _default_places() -> list[str]:
    from autocron_store.seed_import import seed_default_paths

    return seed_default_paths()


def _retention_of(url: str) -> tuple[int | None, float | None]:
    from urllib.parse import parse_qs, urlsplit

    from autocron_store import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_RUNS
    from autocron_store.retention import check_retention

    query = {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}
    return check_retention(
        int(query.get("keep_runs", DEFAULT_KEEP_RUNS)), float(query.get("keep_days", DEFAULT_KEEP_DAYS))
    )
