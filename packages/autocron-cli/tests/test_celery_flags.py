"""`autocron schedule --celery` and `autocron start --celery-app`: what is saved, what is refused."""

from __future__ import annotations

import pytest


def test_schedule_celery_task_with_queue_and_arguments(autocron, store) -> None:
    """--celery NAME with --queue and JSON arguments is saved as a celery= task."""
    result = autocron(
        "schedule", "--celery", "proj.tasks.report", "--queue", "reports", "--cron", "0 6 * * *",
        "--celery-args", '[1, "x"]', "--celery-kwargs", '{"full": true}', "--name", "report",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "celery:    proj.tasks.report" in result.stdout and "queue:     reports" in result.stdout
    (task,) = store.load_tasks()
    assert (task.kind, task.target, task.route.queue) == ("celery", "proj.tasks.report", "reports")
    assert task.args == (1, "x") and task.kwargs == {"full": True}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--celery", "-rf"], "--celery '-rf': expected a Celery task name"),
        (["--celery", "p.t", "--queue", "a b"], "--queue 'a b': expected a queue name"),
        (["--command", "true", "--queue", "q"], "--queue goes with --celery"),
        (["--celery", "p.t", "--celery-args", "{"], "--celery-args '{': expected JSON"),
        (["--celery", "p.t", "--celery-kwargs", "[1]"], "expected a JSON object"),
        (["--celery", "p.t", "--command", "true"], "give exactly one of a script path"),
        (["--celery", "p.t", "--os"], "--celery and --os do not go together"),
    ],
)
def test_bad_celery_flags_exit_2_with_one_line(autocron, store, args: list[str], fragment: str) -> None:
    """Each mistake: exit code 2, one line naming the flag and the value, nothing saved."""
    result = autocron("schedule", "--every", "1m", *args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert store.load_tasks() == []


def test_start_refuses_a_bad_celery_app_reference(autocron) -> None:
    """--celery-app that is not "module:attr" is a usage error (exit 2), before anything starts."""
    result = autocron("start", "--celery-app", "not a reference", "--duration", "1s")
    assert result.exit_code == 2
    assert "--celery-app 'not a reference'" in result.stderr


def test_os_install_leaves_celery_tasks_to_the_workers(autocron, store, fake_os) -> None:
    """--all skips Celery tasks; naming one is refused (Celery workers run it, not the OS)."""
    autocron("schedule", "--command", "true", "--name", "noop", "--cron", "0 * * * *")
    autocron("schedule", "--celery", "proj.tasks.report", "--name", "report", "--cron", "0 6 * * *")
    assert autocron("os", "install", "--all", "--adapter", "fake").exit_code == 0
    assert set(fake_os.entries) == {"noop"}
    named = autocron("os", "install", "report", "--adapter", "fake")
    assert named.exit_code == 2 and "is a Celery task" in named.stderr
    assert set(fake_os.entries) == {"noop"}
    assert not next(t for t in store.load_tasks() if t.name == "report").paused
