"""Hostile config and task files: every one is a one-line ConfigError naming where, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core.config import load_config, store_from_config, validate_config
from autocron_core.errors import AutoCronError, ConfigError

yaml = pytest.importorskip("yaml")

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
        "tasks: []",
    ]
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_billion_laughs_is_refused_by_validate(tmp_path: Path) -> None:
    """A 600-byte YAML whose nine nested aliases expand to 10**9 values fails validate at once."""
    path = _write(tmp_path, "laughs.yaml", BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 1024
    (problem,) = validate_config(path)
    assert "aliases expand" in str(problem)


def test_shared_settings_through_anchors_still_load(tmp_path: Path) -> None:
    """A few anchors and << merges, as people share settings, load as before."""
    path = _write(
        tmp_path,
        "c.yaml",
        "defaults: &d {retries: 2, timeout: 30}\ntasks:\n"
        "  - {<<: *d, name: a, command: echo, every: 5m}\n"
        "  - {<<: *d, name: b, command: echo, every: 5m, retries: 3}\n",
    )
    data, _, _ = load_config(path)
    assert [t["retries"] for t in data["tasks"]] == [2, 3]


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("dup.yaml", "tasks: []\nscheduler: {}\ntasks: []\n", 3),
        ("dup2.yaml", "tasks:\n  - name: a\n    command: echo\n    every: 5m\n    every: 1h\n", 5),
        ("dup.json", '{\n "tasks": [\n  {"name": "a",\n   "command": "echo", "name": "b"}\n ]\n}\n', 4),
    ],
)
def test_duplicate_keys_are_errors_with_their_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    """A key given twice in one mapping is an error naming the key and its line (the last no longer wins)."""
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, name, text))
    assert info.value.line == line
    assert "duplicate key" in str(info.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [("deep.json", "[" * 20_000 + "]" * 20_000), ("deep.yaml", "a: " + "[" * 20_000 + "]" * 20_000),
     ("deep2.json", '{"a": ' * 100 + "1" + "}" * 100), ("cycle.yaml", "a: &a [*a]\n")],
)  # fmt: skip
def test_deep_nesting_is_a_config_error_not_a_recursion_error(tmp_path: Path, name: str, text: str) -> None:
    """JSON or YAML nested 20,000 deep (or cyclic) is a ConfigError, never RecursionError."""
    with pytest.raises(ConfigError, match="nested deeper"):
        load_config(_write(tmp_path, name, text))


def test_a_list_as_a_mapping_key_is_a_config_error(tmp_path: Path) -> None:
    """A YAML mapping key that is a list is a ConfigError with its line, not 'unhashable type'."""
    with pytest.raises(ConfigError, match="mapping key must be a plain value") as info:
        load_config(_write(tmp_path, "k.yaml", "tasks: []\n? [a, b]\n: 1\n"))
    assert info.value.line == 2


def test_an_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file beyond the size limit is refused before it is parsed."""
    import autocron_core.config as config

    monkeypatch.setattr(config, "MAX_DOCUMENT_BYTES", 1000)
    with pytest.raises(ConfigError, match="larger than"):
        load_config(_write(tmp_path, "big.yaml", "tasks: []\n" + "#" * 2000))


@pytest.mark.parametrize(
    ("entry", "field"),
    [({"state": "garbage"}, "state"), ({"state": {"next_run": "soon"}}, "state.next_run"),
     ({"state": {"next_run": "9999-12-31T23:00:00-05:00"}}, "state.next_run"),
     ({"state": {"run_count": -1}}, "state.run_count"), ({"state": {"paused": "no"}}, "state.paused"),
     ({"state": {"colour": 1}}, "state.colour"), ({"anchor": "yesterday"}, "anchor"),
     ({"anchor": 5}, "anchor")],
)  # fmt: skip
def test_bad_state_or_anchor_names_the_field(tmp_path: Path, entry: dict[str, Any], field: str) -> None:
    """A task file entry with a bad state or anchor is a ConfigError naming that field."""
    doc = {"version": 2, "tasks": [{"name": "a", "command": ["echo"], "every": 300, **entry}]}
    problems = validate_config(_write(tmp_path, "t.json", json.dumps(doc)))
    assert [p.field for p in problems] == [field]
    assert "\n" not in str(problems[0])


@pytest.mark.parametrize(
    "store",
    [{"url": "a.db", "keep_runs": "lots"}, {"url": "a.db", "keep_days": "abc"}, "sqlite:///a.db?keep_runs=lots",
     "sqlite:///a.db?busy_timeout=abc", "a.db?keep_days=abc"],
)  # fmt: skip
def test_bad_store_options_fail_validate(tmp_path: Path, store: Any) -> None:
    """store: options that the store would refuse at start are refused by validate, naming the option."""
    path = _write(tmp_path, "c.json", json.dumps({"store": store}))
    (problem,) = validate_config(path)
    assert problem.field in ("keep_runs", "keep_days", "busy_timeout")
    with pytest.raises(ConfigError):
        store_from_config(store)


# -- properties: hostile documents through the loader ---------------------------------------------
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(["~", ".inf", "-.nan", "2026-13-45", "0x1F", "1e400", "y", "<<"]),
)  # fmt: skip
_JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


def _yaml_text(draw: Any) -> str:
    """A YAML document with anchors, aliases, duplicate keys, odd scalars and nesting."""
    parts = draw(
        st.lists(
            st.sampled_from(
                ["a", "tasks", "&x", "*x", "[", "]", "{", "}", ":", ", ", "\n", "  ", "- ", "? ", "<<: *x",
                 "!!str", "'q'", '"\\u00e9"', ".inf", "2026-13-01", "name: n", "every: 5m", "command: echo"]
            ),
            max_size=40,
        )
    )  # fmt: skip
    return "".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_hostile_yaml_loads_or_is_a_config_error(tmp_path: Path, data: st.DataObject) -> None:
    """Any YAML document either loads or is a ConfigError; validate never raises."""
    path = _write(
        tmp_path,
        "h.yaml",
        data.draw(st.builds(lambda: None).flatmap(lambda _: st.just(_yaml_text(data.draw)))),
    )
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    assert all(isinstance(p, AutoCronError) for p in validate_config(path))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=_JSON_VALUES, tasks=st.lists(_JSON_VALUES, max_size=3), depth=st.integers(0, 120), dup=st.booleans()
)
def test_property_hostile_json_loads_or_is_a_config_error(
    tmp_path: Path, value: Any, tasks: list[Any], depth: int, dup: bool
) -> None:
    """Any JSON document (deep, duplicate keys, odd values, bad task entries) loads or is a ConfigError."""
    body = json.dumps({"tasks": tasks, "x": value})
    if dup:
        body = body[:-1] + ', "x": 1}'
    text = '{"a": ' * depth + body + "}" * depth
    path = _write(tmp_path, "h.json", text)
    refused = dup or depth + 2 > 64  # the body and its tasks list add two levels at least
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        assert refused or "nested deeper" in str(exc)
    else:
        assert not refused
    assert all(isinstance(p, AutoCronError) for p in validate_config(path))
