"""Every environment variable autocron-dash reads, in one place."""

from __future__ import annotations

__all__ = ["AUTOCRON_DASH_TOKEN"]

#: The web dashboard's action token when none is passed in code (``serve_dashboard(token=)``)
#: or on the command line: what a login form asks for before run now, pause, resume, backfill.
AUTOCRON_DASH_TOKEN = "AUTOCRON_DASH_TOKEN"  # noqa: S105 - the variable's name, not a secret
