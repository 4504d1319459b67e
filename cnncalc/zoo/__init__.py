"""The model zoo: each entry is a function returning a :class:`cnncalc.spec.Spec`.

Entries register themselves with :func:`register`; :func:`get` builds one by name with the common
options ``input`` (``(H, W, C)`` or ``"32x32x3"``) and ``classes``, plus entry-specific keywords.
Every entry's docstring names its source (paper, table, reference implementation).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Callable

from ..spec import Spec, SpecError

_MODULES = ("alexnet", "vgg", "inception", "googlenet", "resnet", "small")


@dataclass(frozen=True)
class Entry:
    name: str
    build: Callable[..., Spec]
    summary: str
    defaults: dict


_REGISTRY: dict[str, Entry] = {}


def register(name: str, summary: str, **defaults):
    """Decorator: register ``build(**options) -> Spec`` under ``name`` with a one-line summary."""

    def decorate(build):
        if name in _REGISTRY:
            raise RuntimeError(f"zoo entry '{name}' registered twice")
        _REGISTRY[name] = Entry(name, build, summary, defaults)
        return build

    return decorate


def _load():
    if not _REGISTRY:
        for module in _MODULES:
            importlib.import_module(f"{__name__}.{module}")


def names() -> list[str]:
    """All zoo names, in registration order."""
    _load()
    return list(_REGISTRY)


def entries() -> list[Entry]:
    _load()
    return list(_REGISTRY.values())


def get(name: str, **options) -> Spec:
    """Build the zoo entry ``name``; ``input=`` and ``classes=`` override its defaults.

    Unknown names and unknown options raise :class:`SpecError` naming the valid choices.
    """
    _load()
    key = name.lower().replace("_", "-")
    if key not in _REGISTRY:
        raise SpecError(f"unknown model '{name}' (known: {', '.join(_REGISTRY)})")
    entry = _REGISTRY[key]
    options = {k: v for k, v in options.items() if v is not None}
    accepted = [p for p in inspect.signature(entry.build).parameters if not p.startswith("_")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise SpecError(
            f"model '{key}' does not take option(s) {', '.join(unknown)} "
            f"(it takes: {', '.join(accepted) or 'none'})"
        )
    spec = entry.build(**{**entry.defaults, **options})
    if "input" in options and "input" not in accepted:
        spec = spec.with_input(options["input"])
    return spec
