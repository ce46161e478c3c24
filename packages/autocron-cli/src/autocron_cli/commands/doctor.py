"""``autocron doctor``: what is installed, where the state lives, and what is wrong with it."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import store_url

__all__ = ["doctor", "find_problems"]


def _password(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:  # a malformed port: no password to hide that urlsplit can find
        return None


def _hide_password(url: str) -> str:
    """``url`` with any password replaced by ``***``: doctor output gets pasted into bug reports."""
    from urllib.parse import urlsplit, urlunsplit

    if _password(url) is None:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _check_store(url: str) -> tuple[str, str | None]:
    """What the store holds, and the problem with it (``None`` when it opens and loads)."""
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        # Not a problem, and not created here: doctor looks, it does not change anything.
        return "not created yet (the first 'autocron schedule' creates it)", None
    from autocron_core.registry import open_store

    try:
        store = open_store(url)
        try:
            count = len(store.load_tasks())
        finally:
            store.close()
    except Exception as exc:  # every failure is the finding, reported as one line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        password = _password(url)
        if password:  # a driver may quote the URL it was given
            reason = reason.replace(password, "***")
        return "cannot be read", f"the store {_hide_password(url)} cannot be read: {reason}"
    return f"{count} task(s)", None


def find_problems(versions: list[tuple[str, str | None]], store_problem: str | None) -> list[str]:
    """Every problem found, one sentence each.

    Args:
        versions: ``(distribution, version or None)`` for AutoCron's packages.
        store_problem: why the store cannot be read, if it cannot.
    """
    from autocron_cli._original import original_warning

    problems = []
    original = original_warning()
    if original is not None:
        problems.append(original)
    from autocron_cli._versions import OPTIONAL

    # The `autocron` facade is for `import autocron`; the command works without it.
    missing = [name for name, ver in versions if ver is None and name != "autocron" and name not in OPTIONAL]
    if missing:
        problems.append(f"not installed: {', '.join(missing)} (pip install {' '.join(missing)})")
    installed = {ver for _, ver in versions if ver is not None}
    if len(installed) > 1:
        mixed = ", ".join(f"{name} {ver}" for name, ver in versions if ver is not None)
        problems.append(f"AutoCron's packages have different versions ({mixed}); install one release of all")
    if store_problem is not None:
        problems.append(store_problem)
    return problems


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Report versions, the store, AUTOCRON_HOME and any problem found.

    Exit code 0 when nothing is wrong, 1 when a problem is listed.
    """
    from autocron_cli._versions import package_versions
    from autocron_core.env import home_dir

    home = home_dir()
    home_exists = home.is_dir()  # before store_url(), which creates the folder for the default store
    versions = package_versions()
    url = store_url(ctx)
    store_state, store_problem = _check_store(url)
    problems = find_problems(versions, store_problem)
    if as_json:
        output.json_out(
            {
                "packages": dict(versions),
                "python": platform.python_version(),
                "platform": sys.platform,
                "autocron_home": str(home),
                "store": _hide_password(url),
                "store_state": store_state,
                "log_file": str(home / "logs" / "autocron.log"),
                "problems": problems,
            }
        )
    else:
        rows: list[tuple[str, Any]] = [(name, ver or "not installed") for name, ver in versions]
        rows += [
            ("python", f"{platform.python_version()} ({sys.platform})"),
            ("AUTOCRON_HOME", f"{home}" + ("" if home_exists else " (not created yet)")),
            ("store", f"{_hide_password(url)}: {store_state}"),
            ("log file", home / "logs" / "autocron.log"),
        ]
        output.pairs(rows, title="AutoCron environment")
        output.line()
        if problems:
            output.line(f"{len(problems)} problem(s):")
            for problem in problems:
                output.line(f"  - {problem}")
        else:
            output.line("No problems found.")
    ctx.exit(1 if problems else 0)
