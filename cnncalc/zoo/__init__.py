"""The model zoo: each entry is a function returning a :class:`cnncalc.spec.Spec`.

Entries register themselves with :func:`register`; :func:`get` builds one by name with the common
options ``input`` (``(H, W, C)`` or ``"32x32x3"``) and ``classes``, plus entry-specific keywords.
Every entry's docstring names its source (paper, table, reference implementation).

:data:`MODULES` says which module holds which names, so that :func:`names` needs no import and
:func:`get` imports only the module of the entry asked for (``cnncalc vgg19`` loads ``vgg.py``
and the layer kinds VGG uses, not ResNet's or GoogLeNet's). A new entry is declared there too;
:func:`register` refuses a name its module does not declare.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from .. import load_module
from ..kinds.base import closest
from ..spec import Spec, SpecError

MODULES: dict[str, tuple[str, ...]] = {
    "alexnet": ("alexnet", "alexnet-ungrouped"),
    "vgg": ("vgg11", "vgg13", "vgg16", "vgg19"),
    "inception": ("inception-naive", "inception-reduced"),
    "googlenet": ("googlenet", "minigooglenet"),
    "resnet": ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet18", "resnet34", "resnet50"),
    "small": ("lenet5", "mlp", "cs231n-a", "cs231n-b", "cs231n-c"),
}
"""Every zoo module and the entries it registers, in the order ``cnncalc list`` shows them."""
_MODULE_OF = {name: module for module, names in MODULES.items() for name in names}


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
        module = build.__module__.rsplit(".", 1)[-1]
        if name not in MODULES.get(module, ()):
            raise RuntimeError(f"zoo entry '{name}' is not declared for module '{module}' in cnncalc.zoo.MODULES")
        if name in _REGISTRY:
            raise RuntimeError(f"zoo entry '{name}' registered twice")
        _REGISTRY[name] = Entry(name, build, summary, defaults)
        return build

    return decorate


def _load(module: str | None = None):
    """Import one zoo module (``None``: every one); importing registers its entries."""
    for m in MODULES if module is None else (module,):
        load_module(f"{__name__}.{m}")


def names() -> list[str]:
    """All zoo names, in the order of :data:`MODULES` (nothing is imported)."""
    return list(_MODULE_OF)


def entries() -> list[Entry]:
    _load()
    return [_REGISTRY[name] for name in _MODULE_OF]


def get(name: str, **options) -> Spec:
    """Build the zoo entry ``name``; ``input=`` and ``classes=`` override its defaults.

    Unknown names and unknown options raise :class:`SpecError` naming the valid choices.
    """
    key = name.lower().replace("_", "-")
    if key not in _MODULE_OF:
        near = closest(key, _MODULE_OF)
        hint = f"did you mean {' or '.join(near)}? " if near else ""
        raise SpecError(f"unknown model '{name}' ({hint}known: {', '.join(_MODULE_OF)})")
    _load(_MODULE_OF[key])
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
