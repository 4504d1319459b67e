"""The layer-kind registry: everything the project knows about a kind, found from one registration.

Modelled on fvcore's table of pure per-operator handles (``jit_handles.py``), widened to every
front end: one :class:`Kind` per spec class holds its shape and count formulas and its
receptive-field window (:class:`Rule`), its name prefix, its arrow-notation words and printing
(:class:`Notation`), its Keras builder, the string values its fields may hold on the symbolic
path, and how each counting convention counts it. The engine, the notation, the naming, the
symbolic binding, the conventions and the Keras bridge all look a kind up here, so adding a kind
is one module under :mod:`cnncalc.kinds` plus its tests.

A piece a kind deliberately lacks is declared :class:`Absent` with the reason (a residual
shortcut has no arrow notation); a piece simply forgotten stays :data:`MISSING`, and
``tests/test_kinds.py`` names the kind and the piece. A convention that does not count a kind
says so with :data:`IGNORED`; a convention that neither counts nor ignores a kind raises when it
meets one (fvcore's ``unsupported_ops()``), never a silent 0. See docs/design.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from .base import SpecError


class _Missing:
    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING = _Missing()
"""A piece not declared yet: the completeness test names it."""


@dataclass(frozen=True)
class Absent:
    """A piece a kind deliberately lacks, with the reason (shown in the error a user sees)."""

    reason: str

    def __bool__(self):
        return False


class _Ignored:
    def __repr__(self):
        return "IGNORED"


IGNORED = _Ignored()
"""In :attr:`Kind.ops`: the convention does not count this kind (it contributes 0 on purpose)."""


def ignored(*conventions: str) -> dict:
    """``{name: IGNORED}`` for each convention named: ``ops={**ignored("macs", "flops"), ...}``."""
    return {name: IGNORED for name in conventions}


@dataclass(frozen=True)
class Counts:
    """What one layer adds: weights, biases, non-trainable parameters and MACs."""

    weights: object = 0
    biases: object = 0
    non_trainable: object = 0
    macs: object = 0


def no_counts(layer, in_shape, out_shape) -> Counts:
    """The counts of a parameter-free layer that does no multiply-accumulate."""
    return Counts()


@dataclass(frozen=True)
class Rule:
    """The formulas of one layer kind, all pure functions of plain values (ints or sympy).

    - ``shape(layer, in_shape, warn) -> out_shape``: validates the input and derives the output.
      For a merge kind (Concat, Add) ``in_shape`` is the list of the branches' output shapes.
    - ``counts(layer, in_shape, out_shape) -> Counts``: parameters and MACs (a merge kind's
      ``in_shape`` is its first input's shape, or, with ``counts_every_input``, the list of its
      inputs' shapes, as for ``shape``: attention counts from its query, value and key).
    - ``materializes``: whether the output is a new tensor (counted as activations).
    - ``window(layer, axis) -> (kernel_eff, stride, pad_before_or_mode)``: the layer's sliding
      window along ``axis`` (0 height, 1 width) for receptive fields; ``None`` for point-wise
      layers that keep the geometry.
    - ``tracks_field``: ``False`` when receptive fields cannot be carried through the layer (a
      transposed convolution, a reshape, a layer of unknown geometry): the rows after it show none;
      or ``tracks_field(layer, in_shape, out_shape) -> bool`` when that depends on the shapes (a
      reshape of ``H x W x C`` into ``HW`` tokens of ``C`` keeps every position's field).
    - ``counts_ops``: ``False`` for a layer whose operations are unknown (an imported custom
      layer): its MACs are reported as "not counted" and the totals say they exclude them.
    - ``field_note``: why receptive fields stop at this kind (attention mixes every position),
      added to the analysis' warnings where a tracked field reaches it; ``None``: no note.
    - ``counts_every_input``: a merge kind whose ``counts`` receive every input's shape.
    """

    shape: Callable
    counts: Callable = no_counts
    materializes: bool = True
    window: Callable | None = None
    tracks_field: bool | Callable = True
    counts_ops: bool = True
    field_note: str | None = None
    counts_every_input: bool = False


@dataclass(frozen=True)
class Notation:
    """How a kind reads and writes in the arrow notation (:mod:`cnncalc.notation`).

    - ``words``: the lower-case layer words (``("conv",)``; Activation has one per function).
    - ``build(word, kernel, arg, options, classes) -> [layers]``: the spec layers of one token;
      ``kernel`` is the digits after the word (``CONV5``) or ``None``, ``arg`` the text after
      ``-`` or ``None``, ``options`` the parsed ``(...)`` options. Raise ``ValueError`` with a
      message; the parser adds the column.
    - ``write(layer) -> str``: the token that parses back to ``layer``.
    - ``kernel``: whether digits may follow the word; ``argument``: what ``-`` takes, if anything.
    - ``options``: the option keys allowed in ``(...)``; ``positional``: the key of a bare value
      (``DROPOUT(0.3)``).
    - ``spatial``: ``"needs"`` (the layer needs an HxWxC input), ``"vector"`` (it needs a vector:
      a Flatten is inserted before the first one after spatial layers), ``"ends"`` (its output is
      no longer spatial) or ``None``.
    """

    words: tuple
    build: Callable
    write: Callable
    kernel: bool = False
    argument: str | None = None
    options: frozenset = frozenset()
    positional: str | None = None
    spatial: str | None = None


@dataclass(frozen=True)
class Kind:
    """Everything the project knows about one layer kind.

    - ``spec``: the frozen dataclass of its hyper-parameters.
    - ``rule``: shape, counts and receptive-field window (:class:`Rule`).
    - ``prefix``: the name of an unnamed layer before its number (``conv`` -> ``conv1``), or a
      function of the layer (an Activation is named after its function).
    - ``notation``: :class:`Notation`, or :class:`Absent`.
    - ``keras(builder, layer, x, qualified) -> tensor``: the Keras form
      (:mod:`cnncalc.keras_bridge` passes itself as ``builder``: ``builder.keras`` is the keras
      module, ``builder.custom`` the custom layers, ``builder.name(qualified, role)`` a layer
      name); for a merge kind ``x`` is the list of the branches' outputs. Or :class:`Absent`.
    - ``strings``: field -> the string values that field may hold as values (``padding``:
      ``same``/``valid``); any other string in a size field is a symbol name
      (:mod:`cnncalc.symbolic`).
    - ``ops``: convention name -> ``handle(row) -> count`` or :data:`IGNORED`, for every preset
      of :mod:`cnncalc.conventions`.
    - ``merge``: the kind reads several tensors (joins branches: Concat, Add; attention's query,
      value and key; an imported layer of unknown computation) rather than transforming one
      input: its ``shape`` and ``counts`` receive the list of its inputs' shapes.
    """

    spec: type
    rule: Rule | _Missing = MISSING
    prefix: object = MISSING
    notation: object = MISSING
    keras: object = MISSING
    strings: object = MISSING
    ops: object = MISSING
    merge: bool = False

    @property
    def name(self) -> str:
        return self.spec.__name__

    def missing(self) -> list[str]:
        """The pieces still :data:`MISSING` (empty for a complete kind)."""
        return [f.name for f in fields(self) if getattr(self, f.name) is MISSING]

    def prefix_of(self, layer) -> str:
        return self.prefix(layer) if callable(self.prefix) else self.prefix


KINDS: dict[type, Kind] = {}
"""Every registered kind by spec class, in registration order."""


def register(kind: Kind) -> Kind:
    """Add ``kind`` to :data:`KINDS`; registering a class twice is a programming error."""
    if kind.spec in KINDS:
        raise ValueError(f"layer kind {kind.name} is registered twice")
    KINDS[kind.spec] = kind
    return kind


def kind_of(layer) -> Kind:
    """The registration of a layer's kind; an unregistered kind raises instead of counting as zero."""
    try:
        return KINDS[type(layer)]
    except KeyError:
        where = f" (layer '{layer.name}')" if getattr(layer, "name", None) else ""
        raise SpecError(f"no counting rule for layer kind {type(layer).__name__}{where}") from None


def rule_for(layer) -> Rule:
    """The :class:`Rule` of a layer's kind (raises :class:`SpecError` for an unknown kind)."""
    return kind_of(layer).rule
