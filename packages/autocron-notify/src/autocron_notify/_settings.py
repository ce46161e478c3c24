"""Checking notifier settings: every bad value fails fast with a ``ConfigError``
naming the setting, the value and what was expected."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from autocron_core.errors import ConfigError, TaskError
from autocron_core.schedules import MAX_SECONDS, parse_interval

__all__ = ["as_addresses", "as_bool", "as_int", "as_seconds", "reject_unknown"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _bad(field: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(f"{field}={value!r}: expected {expected}", field=field)


def as_bool(field: str, value: Any) -> bool:
    """A boolean setting; environment-style text (``"true"``, ``"0"``) is accepted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _bad(field, value, "true or false")


def as_int(field: str, value: Any, low: int, high: int) -> int:
    """A whole number in ``[low, high]`` (text accepted, as environment variables give it)."""
    try:
        number = int(value, 10) if isinstance(value, str) else value
    except ValueError:
        raise _bad(field, value, f"a whole number from {low} to {high}") from None
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise _bad(field, value, f"a whole number from {low} to {high}")
    return number


def as_seconds(field: str, value: Any, *, allow_zero: bool = False) -> float:
    """A positive number of seconds (text accepted), finite and at most 100 years: the
    range core's ``parse_interval`` allows every duration (``inf`` would hang a send)."""
    try:
        number = (
            float(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
        )
    except (ValueError, OverflowError):
        number = None
    try:
        if number is not None:
            return parse_interval(number, field=field, allow_zero=allow_zero, error=TaskError)
    except TaskError:
        pass
    raise _bad(
        field,
        value,
        "a finite number of seconds, "
        + ("greater than 0" if not allow_zero else "0 or more")
        + f", at most {MAX_SECONDS} (100 years)",
    )


def as_addresses(field: str, value: Any) -> tuple[str, ...]:
    """One address, a comma-separated string of them, or a list; at least one."""
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = [part.strip() if isinstance(part, str) else part for part in value]
    else:
        raise _bad(field, value, "an email address or a list of them")
    found = tuple(item for item in items if item)
    if not found or any(
        not isinstance(a, str) or "@" not in a or any(c in a for c in "\r\n<>") for a in found
    ):
        raise _bad(field, value, "email addresses such as ops@example.com (one, comma-separated, or a list)")
    return found


def reject_unknown(config: Mapping[str, Any], known: Iterable[str], channel: str) -> None:
    """Fail on a misspelt setting instead of silently ignoring it."""
    allowed = set(known)
    for key in config:
        if key not in allowed:
            raise ConfigError(
                f"unknown {channel} setting {key!r} (known: {', '.join(sorted(allowed))})", field=str(key)
            )


_warned: set[tuple[str, str]] = set()


def warn_literal_secret(logger: logging.Logger, channel: str, field: str) -> None:
    """Warn, once per process and setting, that a secret was given literally."""
    if (channel, field) in _warned:
        return
    _warned.add((channel, field))
    logger.warning(
        "%s: a literal %s is configured; name an environment variable with %s_env instead "
        "(a literal one is never saved and may leak through config files)",
        channel,
        field,
        field,
    )
