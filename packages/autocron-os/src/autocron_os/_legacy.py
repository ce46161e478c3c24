"""Entries the original AutoCron (``autocron-scheduler``) left in the OS scheduler.

The original wrote one crontab line per task, its marker a trailing shell
comment on the job line itself (there is no separate comment line)::

    1.0-1.2:  <cron> <python> "<script>" # AutoCron: <task name as given>
    1.3:      <5 fields> <sh-quoted python> <sh-quoted script> # AutoCron: <sanitized name>

and on Windows one task in the root folder, ``\\AutoCron_<sanitized name>``,
described as ``AutoCron scheduled task: AutoCron_<sanitized name>``. It made
no systemd or launchd entries.

Recognition is strict, because a line taken for the original's is one that
``remove`` and ``install`` delete: the whole line must have one of the shapes
above, the marker must be a real shell comment (the text before it splits into
words with balanced quotes), and a task name matches a line only the way the
original itself wrote that line. Anything else is a foreign line, left alone.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

__all__ = [
    "LEGACY_ORIGIN",
    "SeedCronLine",
    "parse_seed_cron_line",
    "seed_sanitize",
    "seed_windows_id",
    "seed_windows_path",
]

#: The distribution that wrote these entries, as shown in listings.
LEGACY_ORIGIN = "autocron-scheduler"

_MARK = " # AutoCron: "
# shlex.quote's output: bare safe characters, '...' runs, and "'" for a quote.
_SH_WORD = r"""(?:'[^']*'|"'"|[^\s'"])+"""
# 1.0-1.2 wrote the expression as given (aliases, 6 or 7 fields) and the script in double quotes.
_V1 = re.compile(r'(?P<when>\S+(?:[ \t]+\S+)*?)[ \t]+(?P<python>\S+)[ \t]+"(?P<script>[^"]*)"')
# 1.3 expanded aliases to exactly five fields and quoted both words with shlex.quote.
_V13 = re.compile(rf"(?P<when>\S+(?:[ \t]+\S+){{4}})[ \t]+(?P<python>{_SH_WORD})[ \t]+(?P<script>{_SH_WORD})")
_SANITIZED = re.compile(r"[a-z0-9_]+")
_WINDOWS_PREFIX = "\\AutoCron_"
_WINDOWS_DESCRIPTION = "AutoCron scheduled task: AutoCron_"


def seed_sanitize(name: str) -> str:
    """The original's ``sanitize_task_name``, exactly: ``"My Task #1"`` -> ``"my_task_1"``.

    Lowercased, every character outside ``[a-zA-Z0-9_]`` replaced by ``_``,
    runs of ``_`` collapsed and ``_`` stripped from both ends. Several names
    map to one result (``"a b"``, ``"A-B"``, ``"a_b"``), as they did there.
    """
    cleaned = re.sub(r"[^a-zA-Z0-9_]", "_", name.lower())
    return re.sub(r"_+", "_", cleaned).strip("_")


@dataclass(frozen=True, slots=True)
class SeedCronLine:
    """One crontab line the original AutoCron wrote.

    Attributes:
        tag: the text after ``# AutoCron: `` (the raw task name for 1.0-1.2,
            the sanitized one for 1.3).
        when: the schedule fields as written.
        argv: what the line runs: the interpreter and the script.
        release: ``"1.0-1.2"`` or ``"1.3"``, told apart by how the script is quoted.
    """

    tag: str
    when: str
    argv: tuple[str, ...]
    release: str

    @property
    def name(self) -> str:
        """The task name to show and to pass to ``remove``."""
        return self.tag.strip()

    def belongs_to(self, name: str) -> bool:
        """Whether the original wrote this line for a task called ``name``.

        1.0-1.2 wrote the name as given, so only that name matches; 1.3 wrote
        the sanitized name, so every name that sanitizes to it matches, as the
        original's own ``remove_scheduled_task`` did.
        """
        if self.release == "1.3":
            return self.tag == seed_sanitize(name)
        return name in (self.tag, self.tag.strip())


def parse_seed_cron_line(line: str) -> SeedCronLine | None:
    """The original's entry on this crontab line, or ``None`` for any other line."""
    text = line.rstrip("\r\n")
    if text.lstrip().startswith("#") or _MARK not in text:
        return None
    head, tag = text.split(_MARK, 1)
    try:
        # Balanced quotes mean sh reads " # AutoCron:" as a comment, not as part of a word.
        shlex.split(head)
    except ValueError:
        return None
    match = _V1.fullmatch(head.strip())
    if match is not None:
        fields = match["when"].split()
        if not (len(fields) == 1 and fields[0].startswith("@")) and not 5 <= len(fields) <= 7:
            return None
        return SeedCronLine(tag, " ".join(fields), (match["python"], match["script"]), "1.0-1.2")
    match = _V13.fullmatch(head.strip())
    tag = tag.rstrip(" \t")
    if match is None or not _SANITIZED.fullmatch(tag):
        return None
    # cron turns "\%" into "%" before sh reads the command.
    argv = [word.replace("\\%", "%") for word in (match["python"], match["script"])]
    try:
        words = tuple(shlex.split(" ".join(argv)))
    except ValueError:
        return None
    if len(words) != 2:
        return None
    return SeedCronLine(tag, " ".join(match["when"].split()), words, "1.3")


def seed_windows_id(path: str, description: str) -> str | None:
    """The sanitized name of the original's Windows task at ``path``, or ``None`` if it is not one.

    Both the path (``\\AutoCron_<name>`` in the root folder) and the
    description the original wrote must match, so a task of someone else's
    that merely starts with ``AutoCron_`` is never taken for it.
    """
    if not path.startswith(_WINDOWS_PREFIX):
        return None
    ident = path[len(_WINDOWS_PREFIX) :]
    if not _SANITIZED.fullmatch(ident) or description.strip() != _WINDOWS_DESCRIPTION + ident:
        return None
    return ident


def seed_windows_path(name: str) -> str | None:
    """Where the original put the Windows task for ``name`` (``None``: it could not have)."""
    ident = seed_sanitize(name)
    return _WINDOWS_PREFIX + ident if ident else None
