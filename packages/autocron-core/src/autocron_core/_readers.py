"""Reading YAML and JSON documents safely: bounded size, nesting and alias expansion, no duplicate keys.

Config files and task files are written by hand and sometimes by someone
else: a document must never be able to exhaust memory or the stack of the
process that reads it. The limits below are far above what a real config
uses; each refusal is a ``ConfigError`` naming the file and, where the parser
knows it, the line.

PyYAML is imported inside ``read_yaml`` only: importing core must not pull it in.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ConfigError

__all__ = ["MAX_ALIAS_NODES", "MAX_DEPTH", "MAX_DOCUMENT_BYTES", "Lines", "read_json", "read_yaml"]

#: The largest config or task file read (bytes); 10,000 tasks take about 10 MB.
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
#: The deepest nesting of mappings and lists (a task entry needs about five levels).
MAX_DEPTH = 64
#: How many nodes YAML aliases may add to a document once expanded (a billion-laughs
#: file of nine nested aliases adds 10**9; sharing a block of settings adds a few dozen).
MAX_ALIAS_NODES = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


class Lines:
    """Line numbers of mappings and their keys, as the parser saw them."""

    def __init__(self) -> None:
        self.of: dict[int, tuple[int, dict[str, int]]] = {}

    def line(self, mapping: Any, key: str | None = None) -> int | None:
        """The line of ``mapping`` (or of its ``key``), ``None`` when unknown."""
        entry = self.of.get(id(mapping))
        if entry is None:
            return None
        return entry[1].get(key, entry[0]) if key else entry[0]


def _too_deep(path: str, line: int | None = None) -> ConfigError:
    return ConfigError(f"nested deeper than {MAX_DEPTH} levels of mappings and lists", path=path, line=line)


def _check_expansion(root: Any, path: str) -> None:
    """Refuse a composed YAML node graph that aliases make too deep or too large.

    Aliases share nodes, so the graph is small while its expansion (what every
    later walk over the data visits) may be huge, or even cyclic. Sizes are
    memoised per node, so this costs one visit per distinct node.
    """
    sizes: dict[int, int] = {}
    distinct = 0

    def size(node: Any, depth: int) -> int:
        nonlocal distinct
        if depth > MAX_DEPTH:
            raise _too_deep(path, node.start_mark.line + 1)
        known = sizes.get(id(node))
        if known is not None:
            return known
        distinct += 1
        total = 1
        if isinstance(node.value, list):
            for item in node.value:
                pair = item if isinstance(item, tuple) else (item,)
                for child in pair:
                    total += size(child, depth + 1)
        sizes[id(node)] = total
        return total

    expanded = size(root, 1)
    if expanded - distinct > MAX_ALIAS_NODES:
        raise ConfigError(
            f"aliases expand the document to {expanded} values (at most {MAX_ALIAS_NODES} more than "
            "it holds are read); write the repeated parts out or share fewer of them",
            path=path,
        )


def read_yaml(text: str, path: str, lines: Lines) -> Any:
    """Parse YAML with the safe loader, recording lines in ``lines``.

    Raises:
        ConfigError: PyYAML is missing, the syntax is bad, a key is repeated
            in one mapping, a key is a list or mapping, or a limit is exceeded.
    """
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            "reading YAML needs PyYAML: pip install autocron-store (or PyYAML)", path=path
        ) from None

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            # PyYAML composes recursively: a deep document would end in RecursionError.
            if self.depth >= MAX_DEPTH:
                raise _too_deep(path, self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_document(self, node: Any) -> Any:
            _check_expansion(node, path)
            return super().construct_document(node)

    def mapping(loader: Any, node: Any) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise ConfigError(f"a mapping key must be a plain value, not a {kind}", path=path, line=line)
            key = loader.construct_object(key_node)
            if key in first:
                raise ConfigError(
                    f"duplicate key {key!r} (first given on line {first[key]})",
                    path=path,
                    line=line,
                    field=str(key),
                )
            first[key] = line
        # ``<<: *defaults`` merges: the keys written in the mapping itself win, as YAML says.
        loader.flatten_mapping(node)
        value: dict[Any, Any] = {}
        keys: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            value[key] = loader.construct_object(value_node, deep=True)
            keys[str(key)] = key_node.start_mark.line + 1
        lines.of[id(value)] = (node.start_mark.line + 1, keys)
        return value

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
            path=path,
            line=mark.line + 1 if mark else None,
        ) from None
    except ConfigError:
        raise
    except (ValueError, OverflowError) as exc:
        # A scalar the resolver took for a time or number that is out of range (2026-13-01).
        raise ConfigError(f"not valid YAML: {exc}", path=path) from None
    except RecursionError:
        raise _too_deep(path) from None


class _DuplicateKey(Exception):
    """Raised from inside the JSON parser; its position is found afterwards."""


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _DuplicateKey
    return value


_COLON = re.compile(r"[ \t\r\n]*:")


def _json_duplicate(text: str) -> tuple[str, int]:
    """The first key repeated within one JSON object, and its line (the text is valid JSON).

    The parser reports no positions, so the text is walked once more, only
    on this error path: a stack holds the keys seen in each open object.
    """
    from json.decoder import scanstring  # type: ignore[attr-defined]

    stack: list[set[str] | None] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "{":
            stack.append(set())
        elif char == "[":
            stack.append(None)
        elif char in "}]":
            stack.pop()
        elif char == '"':
            start = i
            string, i = scanstring(text, i + 1)
            seen = stack[-1] if stack else None
            if seen is not None and _COLON.match(text, i):
                if string in seen:
                    return string, text.count("\n", 0, start) + 1
                seen.add(string)
            continue
        i += 1
    return "", 1


def _json_depth_ok(data: Any) -> bool:
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values() if isinstance(item, (dict, list)))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value if isinstance(item, (dict, list)))
    return True


def read_json(text: str, path: str, lines: Lines) -> Any:
    """Parse JSON, refusing repeated keys and deep nesting; task lines go into ``lines``.

    Raises:
        ConfigError: bad syntax, a key repeated in one object (with its line),
            or nesting deeper than ``MAX_DEPTH``.
    """
    import json

    try:
        data = json.loads(text, object_pairs_hook=_json_pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except _DuplicateKey:
        key, line = _json_duplicate(text)
        raise ConfigError(f"duplicate key {key!r} in one object", path=path, line=line, field=key) from None
    except RecursionError:
        raise _too_deep(path) from None
    if not _json_depth_ok(data):
        raise _too_deep(path)
    # JSON parsers give no positions; find each task's line by its name.
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if isinstance(tasks, list):
        text_lines = text.splitlines()
        for entry in tasks:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                needle = json.dumps(entry["name"])
                for number, line_text in enumerate(text_lines, 1):
                    if needle in line_text and '"name"' in line_text:
                        lines.of[id(entry)] = (number, {})
                        break
    return data
