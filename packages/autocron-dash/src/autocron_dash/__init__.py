"""autocron-dash: analytics over run history, a terminal dashboard, Prometheus metrics.

``show_dashboard(scheduler_or_store)`` prints an overview of every task;
``show_task(name, ...)`` one task's recent runs; ``live_monitor()`` redraws
until Ctrl-C; ``serve_metrics(scheduler, port)`` serves ``/metrics`` and
``/healthz``. ``TaskAnalytics`` gives the numbers behind all of them.
"""

from __future__ import annotations

from .analytics import Overall, TaskAnalytics, TaskSummary
from .dashboard import Dashboard, live_monitor, show_dashboard, show_task
from .metrics import MetricsServer, SchedulerMetrics, serve_metrics
from .recommendations import Recommendation, recommend


def __getattr__(name: str) -> str:
    # importlib.metadata is slow to import: read the version only when asked.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("autocron-dash")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            return "0+unknown"
    raise AttributeError(name)


__all__ = [
    "Dashboard",
    "MetricsServer",
    "Overall",
    "Recommendation",
    "SchedulerMetrics",
    "TaskAnalytics",
    "TaskSummary",
    "__version__",
    "live_monitor",
    "recommend",
    "serve_metrics",
    "show_dashboard",
    "show_task",
]
