"""The arrow notation of the course notes, parsed into a :class:`cnncalc.spec.Spec`.

Grammar (case-insensitive, whitespace optional)::

    net    := item ("->" item)*
    item   := "[" net "]" ("*" | "x") INT  |  layer
    layer  := WORD [INT] ["-" ARG] ["(" option ("," option)* ")"]

Layers: ``INPUT-HxWxC`` (or any rank: ``INPUT-16x64`` tokens x channels, ``INPUT-100`` a
vector), ``CONV<k>-<filters>`` (k defaults to 3), ``POOL<k>`` / ``MAXPOOL<k>`` /
``AVGPOOL<k>`` (k defaults to 2, stride to k, no padding), ``GAP``, ``FC-<units>``, ``FCS`` (FC
with ``classes`` outputs plus softmax), ``RELU``, ``TANH``, ``SIGMOID``, ``SOFTMAX``, ``BN``,
``LRN``, ``DROPOUT(<p>)``, ``FLATTEN`` (inserted implicitly before the first FC that reads a
tensor of more than one axis). Options: ``s=`` stride, ``p=`` padding (int, ``same``, ``valid``), ``d=`` dilation,
``g=`` groups, ``bias=false``, ``ceil=true`` for pools. CONV padding defaults to ``same``.

Errors are :class:`NotationError` with the 1-based column of the offending token, e.g.
``unknown layer 'BLAH' at column 14``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .kinds import Flatten, Input, Notation, SpecError, kind_of, load_all
from .kinds.base import closest
from .sizes import check_numbers, parse_size  # noqa: F401  (parse_size: public here since 0.1)
from .spec import Sequential, Spec


class NotationError(SpecError):
    """A syntax or meaning error in the arrow notation; the message names the column."""


MAX_LAYERS = 100_000  # repetitions expand eagerly: '[CONV3-8]*10**20' must be an error, not a crash
MAX_NESTING = 100  # brackets inside brackets; the parser descends once per level (docs/notation.md)


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<arrow>->|→)
  | (?P<open>\[)
  | (?P<close>\])
  | (?P<times>\*)
  | (?P<layer>[A-Za-z]+(?:\d+)?(?:\s*-\s*[A-Za-z0-9_.]+(?:\s*[x×]\s*[A-Za-z0-9_.]+)*)?(?:\s*\([^()]*\))?)
  | (?P<int>\d+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int  # 1-based


def tokenize(text: str) -> list[Token]:
    tokens, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        m = _TOKEN.match(text, i)
        if not m:
            if text[i] == "(" and ")" not in text[i:]:
                raise NotationError(f"unclosed '(' at column {i + 1}")
            raise NotationError(f"unexpected '{text[i]}' at column {i + 1}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "layer" and "(" in value and not value.rstrip().endswith(")"):
            raise NotationError(f"unclosed '(' at column {i + value.index('(') + 1}")
        tokens.append(Token(kind, value, i + 1))
        i = m.end()
    return tokens


# --------------------------------------------------------------------------------------------
# Parser: tokens -> nested list of (Token, ...) with repetitions expanded
# --------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        self.pos += 1
        return tok

    def end_column(self) -> int:
        return len(self.text.rstrip()) + 1

    def net(self, closing: bool) -> list[Token]:
        items = self.item()
        while True:
            tok = self.peek()
            if tok is None:
                if closing:
                    raise NotationError(f"missing ']' at column {self.end_column()}")
                return items
            if tok.kind == "close":
                if not closing:
                    raise NotationError(f"unmatched ']' at column {tok.column}")
                return items
            if tok.kind != "arrow":
                raise NotationError(f"expected '->' before '{tok.text}' at column {tok.column}")
            self.take()
            items = items + self.item()
            if len(items) > MAX_LAYERS:
                raise NotationError(f"the network expands to more than {MAX_LAYERS:,} layers at column {tok.column}")

    def item(self) -> list[Token]:
        tok = self.take()
        if tok is None:
            raise NotationError(f"expected a layer at column {self.end_column()}")
        if tok.kind == "open":
            if self.depth >= MAX_NESTING:
                raise NotationError(f"brackets nested more than {MAX_NESTING} deep at column {tok.column}")
            self.depth += 1
            inner = self.net(closing=True)
            self.depth -= 1
            self.take()  # ']'
            times = self.peek()
            if times is not None and times.kind == "times":
                self.take()
            elif times is not None and times.kind == "layer" and re.fullmatch(r"[xX]\d+", times.text):
                # "]x2" tokenises as a word; split it.
                self.take()
                return self._repeat(inner, times.text[1:], times.column + 1)
            elif times is not None and times.kind == "layer" and times.text.lower() == "x":
                self.take()
            else:
                col = times.column if times else self.end_column()
                raise NotationError(f"expected '*' or 'x' and a count after ']' at column {col}")
            count = self.take()
            if count is None or count.kind != "int":
                col = count.column if count else self.end_column()
                raise NotationError(f"expected a repeat count at column {col}")
            return self._repeat(inner, count.text, count.column)
        if tok.kind == "layer":
            return [tok]
        raise NotationError(f"expected a layer, got '{tok.text}' at column {tok.column}")

    @staticmethod
    def _count(text: str, column: int) -> int:
        n = int(text)
        if n <= 0:
            raise NotationError(f"repeat count must be positive, got {n} at column {column}")
        return n

    def _repeat(self, inner: list, text: str, column: int) -> list:
        n = self._count(text, column)
        if len(inner) * n > MAX_LAYERS:
            raise NotationError(
                f"repeat count {n} expands to {len(inner) * n:,} layers, more than {MAX_LAYERS:,}, at column {column}"
            )
        return inner * n


# --------------------------------------------------------------------------------------------
# Layer tokens -> spec layers
# --------------------------------------------------------------------------------------------

_LAYER = re.compile(
    r"(?P<word>[A-Za-z]+?)(?P<k>\d+)?(?:\s*-\s*(?P<arg>[^()]+?))?\s*(?:\((?P<opts>[^()]*)\))?\Z"
)
_OPTION_NAMES = {"s": "stride", "p": "padding", "d": "dilation", "g": "groups", "bias": "bias", "ceil": "ceil_mode", "rate": "rate"}


def words() -> dict:
    """Every notation word and the kind that reads it, from the kinds' registrations (every
    family loaded: a word may belong to any)."""
    return {
        word: kind
        for kind in load_all().values()
        if isinstance(kind.notation, Notation)
        for word in kind.notation.words
    }


def _layer_hint(letters: str, known: dict) -> str:
    """``did you mean CONV?`` for a near word, else the words there are."""
    near = closest(letters, known)
    if near:
        return f"did you mean {' or '.join(w.upper() for w in near)}?"
    return "layer words: " + ", ".join(sorted(w.upper() for w in known))


def _split_word(token: Token, known: dict) -> tuple[str, str | None, str | None, str | None]:
    text = token.text
    letters = re.match(r"(?P<letters>[A-Za-z]+)", text).group("letters").lower()
    if letters not in known:
        bad = re.match(r"[A-Za-z0-9]+", text).group(0)
        raise NotationError(f"unknown layer '{bad}' at column {token.column} ({_layer_hint(letters, known)})")
    m = _LAYER.match(text)
    if not m or m.group("word").lower() != letters:
        raise NotationError(f"cannot read layer '{text}' at column {token.column}")
    return letters, m.group("k"), m.group("arg"), m.group("opts")


def _value(text: str, key: str, token: Token):
    low = text.strip().lower()
    if key in ("bias", "ceil_mode"):
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise NotationError(f"option {key} takes true or false, got '{text.strip()}' at column {token.column}")
    if key == "padding" and low in ("same", "valid"):
        return low
    if key == "rate":
        try:
            return float(low)
        except ValueError:
            raise NotationError(f"dropout rate must be a number, got '{text.strip()}' at column {token.column}") from None
    if re.fullmatch(r"\d+", low):
        return int(low)
    raise NotationError(f"option {key} takes an integer, got '{text.strip()}' at column {token.column}")


def _options(opts: str | None, word: str, notation: Notation, token: Token) -> dict:
    if opts is None or not opts.strip():
        return {}
    result = {}
    for part in opts.split(","):
        part = part.strip()
        if "=" not in part:
            if notation.positional and notation.positional not in result:
                result[notation.positional] = _value(part, notation.positional, token)
                continue
            raise NotationError(f"option '{part}' needs the form name=value at column {token.column}")
        name, value = (s.strip() for s in part.split("=", 1))
        key = _OPTION_NAMES.get(name.lower())
        if key is None or key not in notation.options:
            what = f"unknown option '{name}'" if key is None else f"option '{name}' does not apply to {word.upper()}"
            raise NotationError(f"{what} at column {token.column}")
        if key in result:
            raise NotationError(f"option '{name}' given twice at column {token.column}")
        result[key] = _value(value, key, token)
    return result


def _layer(token: Token, classes: int, known: dict) -> list:
    word, k, arg, opts = _split_word(token, known)
    notation = known[word].notation
    options = _options(opts, word, notation, token)
    if k is not None and not notation.kernel:
        raise NotationError(f"unknown layer '{token.text.split('-')[0].split('(')[0]}' at column {token.column}")
    if arg is not None and notation.argument is None:
        raise NotationError(f"{word.upper()} takes no '-' argument at column {token.column}")
    try:
        return notation.build(word, k, arg, options, classes)
    except NotationError:
        raise
    except ValueError as exc:  # SpecError included: the kind's own message, plus the column
        raise NotationError(f"{exc} at column {token.column}") from None


def parse(text: str, *, classes: int = 10, model: str | None = None) -> Spec:
    """Parse the arrow notation into a :class:`Spec` (see the module docstring for the grammar).

    ``classes`` sets the outputs of ``FCS``. A ``Flatten`` is inserted before the first FC that
    follows spatial layers. Raises :class:`NotationError` naming the column of the bad token.
    """
    if not isinstance(text, str) or not text.strip():
        raise NotationError("empty network: expected layers such as 'INPUT-32x32x3 -> CONV3-32 -> FCS'")
    check_numbers(text, NotationError)
    tokens = _Parser(text).net(closing=False)
    known = words()
    # spatial: not a vector yet (an FC flattens first); grid: an H x W x C tensor, which a CONV or
    # a POOL may read (a network without INPUT is taken as an image one: its size comes later)
    layers, spatial, grid, why = [], True, True, "follows FC/GAP/FLATTEN"
    for position, token in enumerate(tokens):
        built = _layer(token, classes, known)
        first = built[0]
        needs = kind_of(first).notation.spatial
        if isinstance(first, Input):
            if position != 0:
                raise NotationError(f"INPUT can only start the network (column {token.column})")
            spatial, grid = len(first.shape) > 1, len(first.shape) == 3
            if not grid:
                why = f"INPUT-{'x'.join(map(str, first.shape))} is {'a vector' if len(first.shape) == 1 else 'not an HxWxC image'}"
        if needs == "vector" and spatial:
            layers.append(Flatten())
            spatial = grid = False
            why = "follows FC/GAP/FLATTEN"
        elif needs == "needs" and not grid:
            raise NotationError(f"{token.text.split('(')[0].upper()} needs a spatial input, but {why} (column {token.column})")
        if needs == "ends":
            spatial = grid = False
            why = "follows FC/GAP/FLATTEN"
        layers.extend(built)
    name = model or ("custom" if len(text) > 40 else text.strip())
    return Spec(Sequential(tuple(layers)), model=name, description=text.strip())


def to_notation(spec: Spec) -> str:
    """Write a sequential spec back in arrow notation (``parse(to_notation(s))`` rebuilds it).

    Each layer is written by its kind's ``Notation.write``; a kind without an arrow form
    (Concat, Add, the padding shortcut) raises :class:`SpecError`.
    """
    parts = []
    for layer in spec.root.layers:
        notation = kind_of(layer).notation
        if not isinstance(notation, Notation):
            raise SpecError(f"layer '{layer.name}' ({layer.kind}) has no arrow notation")
        parts.append(notation.write(layer))
    return " -> ".join(p for p in parts if p)
