"""``NamedTuple`` classes without importing ``typing``.

``import typing`` (with the ``re``, ``contextlib`` and ``warnings`` it brings)
was about half of ``import autocron_core``: 23 ms of 45 ms above a bare
interpreter on the benchmark machine. The modules loaded by that import
therefore name ``typing`` only for the type checker (``if TYPE_CHECKING:``),
and their records use this base at run time::

    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from ._tuples import NamedTuple

It builds the same class ``typing.NamedTuple`` builds (a
``collections.namedtuple`` with the body's defaults, methods and docstring),
but reads only the annotations' names and never evaluates them, so the modules
keep ``from __future__ import annotations``.
"""

from __future__ import annotations

from collections import namedtuple

__all__ = ["NamedTuple"]

# Class-body names that describe the class rather than add to it (as in typing).
_SPECIAL = frozenset({"__module__", "__qualname__", "__annotations__"})
_PROHIBITED = frozenset(
    {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults", "_make",
     "_replace", "_asdict", "_source"}
)  # fmt: skip


class _NamedTupleMeta(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:  # NamedTuple itself
            return super().__new__(mcls, name, bases, namespace)
        if bases != (NamedTuple,):
            raise TypeError(f"{name}: a NamedTuple class takes NamedTuple as its only base")
        annotations = dict(namespace.get("__annotations__", {}))  # type: ignore[call-overload]
        fields = list(annotations)
        defaults = []
        for field in fields:
            if field in namespace:
                defaults.append(namespace[field])
            elif defaults:
                raise TypeError(f"{name}: field {field!r} without a default follows one with a default")
        cls = namedtuple(name, fields, defaults=defaults, module=str(namespace["__module__"]))  # type: ignore[misc]
        cls.__annotations__ = annotations
        for key, value in namespace.items():
            if key in _PROHIBITED:
                raise AttributeError(f"{name}: cannot overwrite NamedTuple attribute {key}")
            if key not in _SPECIAL and key not in annotations:
                setattr(cls, key, value)
        cls.__qualname__ = str(namespace.get("__qualname__", name))
        return cls


class NamedTuple(metaclass=_NamedTupleMeta):
    """Base of a class whose annotated fields become a ``collections.namedtuple``."""
