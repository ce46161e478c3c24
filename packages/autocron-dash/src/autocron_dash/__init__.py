"""autocron-dash: analytics over run history, a terminal dashboard, Prometheus metrics.

``show_dashboard(scheduler_or_store)`` prints an overview of every task;
``show_task(name, ...)`` one task's recent runs; ``live_monitor()`` redraws
until Ctrl-C; ``serve_metrics(scheduler, port)`` serves ``/metrics`` and
``/healthz``; ``serve_dashboard(scheduler_or_store)`` serves the web dashboard
(the ``autocron-dash[web]`` extra). ``TaskAnalytics`` gives the numbers behind all of them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analytics import Overall, TaskAnalytics, TaskSummary
    from .dashboard import Dashboard, live_monitor, show_dashboard, show_task
    from .metrics import MetricsServer, SchedulerMetrics, serve_metrics
    from .recommendations import Recommendation, recommend
    from .web import serve_dashboard

#: Public name → the module that defines it. Imported on first use: ``autocron
#: dashboard`` needs neither the metrics server nor its HTTP machinery (about 30 ms
#: of its start-up, benchmarks/README.md "bench_cli.py").
_HOMES = {
    "Overall": "analytics", "TaskAnalytics": "analytics", "TaskSummary": "analytics",
    "Dashboard": "dashboard", "live_monitor": "dashboard", "show_dashboard": "dashboard",
    "show_task": "dashboard", "MetricsServer": "metrics", "SchedulerMetrics": "metrics",
    "serve_metrics": "metrics", "Recommendation": "recommendations", "recommend": "recommendations",
    "serve_dashboard": "web",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(import_module(f"{__name__}.{home}"), name)
        globals()[name] = value  # later lookups skip this function
        return value
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
    "serve_dashboard",
    "serve_metrics",
    "show_dashboard",
    "show_task",
]
