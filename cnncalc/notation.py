"""The arrow notation of the course notes, parsed into a :class:`cnncalc.spec.Spec`.

Grammar (case-insensitive, whitespace optional)::

    net    := item ("->" item)*
    item   := "[" net "]" ("*" | "x") INT  |  layer
    layer  := WORD [INT] ["-" ARG] ["(" option ("," option)* ")"]

Layers: ``INPUT-HxWxC``, ``CONV<k>-<filters>`` (k defaults to 3), ``POOL<k>`` / ``MAXPOOL<k>`` /
``AVGPOOL<k>`` (k defaults to 2, stride to k, no padding), ``GAP``, ``FC-<units>``, ``FCS`` (FC
with ``classes`` outputs plus softmax), ``RELU``, ``TANH``, ``SIGMOID``, ``SOFTMAX``, ``BN``,
``LRN``, ``DROPOUT(<p>)``, ``FLATTEN`` (inserted implicitly before the first FC after spatial
layers). Options: ``s=`` stride, ``p=`` padding (int, ``same``, ``valid``), ``d=`` dilation,
``g=`` groups, ``bias=false``, ``ceil=true`` for pools. CONV padding defaults to ``same``.

Errors are :class:`NotationError` with the 1-based column of the offending token, e.g.
``unknown layer 'BLAH' at column 14``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .spec import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Input,
    LRN,
    MaxPool2D,
    Sequential,
    Spec,
    SpecError,
)


class NotationError(SpecError):
    """A syntax or meaning error in the arrow notation; the message names the column."""


MAX_LAYERS = 100_000  # repetitions expand eagerly: '[CONV3-8]*10**20' must be an error, not a crash


_SIZE_SPLIT = re.compile(r"\s*[x×*]\s*", re.IGNORECASE)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"[0-9]+\Z")


MAX_DIGITS = 100
_LONG_NUMBER = re.compile(r"\d{%d,}" % (MAX_DIGITS + 1))


def _check_numbers(text: str, error) -> None:
    """Refuse absurdly long numbers before ``int()`` does (Python refuses over 4,300 digits)."""
    m = _LONG_NUMBER.search(text)
    if m:
        raise error(f"a number of {len(m.group(0)):,} digits is too long (at most {MAX_DIGITS}) at column {m.start() + 1}")


def parse_size(text: str) -> tuple:
    """``"224x224x3" -> (224, 224, 3)``; ``"H x W x 3" -> (H, W, 3)`` with positive-integer symbols.

    Integers stay ``int``; names become sympy symbols (``integer=True, positive=True``), so sympy
    is imported only when a size is symbolic.
    """
    _check_numbers(text, SpecError)
    parts = [p for p in _SIZE_SPLIT.split(text.strip())]
    values = []
    for part in parts:
        if _INT.match(part):
            value = int(part)
            if value <= 0:
                raise SpecError(f"sizes must be positive, got {value} in '{text}'")
            values.append(value)
        elif _IDENT.match(part):
            import sympy

            values.append(sympy.Symbol(part, integer=True, positive=True))
        else:
            raise SpecError(f"cannot read size '{text}': expected HxWxC such as 32x32x3 or 'H x W x 3'")
    if len(values) != 3:
        raise SpecError(f"cannot read size '{text}': expected three values HxWxC, got {len(values)}")
    return tuple(values)


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
            inner = self.net(closing=True)
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
_WORDS = (
    "input", "conv", "pool", "maxpool", "avgpool", "gap", "fc", "fcs", "relu", "tanh", "sigmoid",
    "softmax", "bn", "lrn", "dropout", "flatten",
)
_OPTION_NAMES = {"s": "stride", "p": "padding", "d": "dilation", "g": "groups", "bias": "bias", "ceil": "ceil_mode", "rate": "rate"}
_ALLOWED = {
    "conv": {"stride", "padding", "dilation", "groups", "bias"},
    "pool": {"stride", "padding", "ceil_mode"},
    "fc": {"bias"},
    "fcs": {"bias"},
    "dropout": {"rate"},
}


def _split_word(token: Token) -> tuple[str, str | None, str | None, str | None]:
    text = token.text
    m = re.match(r"(?P<letters>[A-Za-z]+)", text)
    letters = m.group("letters").lower()
    # Longest known word that prefixes the letters ("maxpool" before "pool", "fcs" before "fc").
    word = next((w for w in sorted(_WORDS, key=len, reverse=True) if letters == w), None)
    if word is None:
        bad = re.match(r"[A-Za-z0-9]+", text).group(0)
        raise NotationError(f"unknown layer '{bad}' at column {token.column}")
    m = _LAYER.match(text)
    if not m or m.group("word").lower() != word:
        raise NotationError(f"cannot read layer '{text}' at column {token.column}")
    return word, m.group("k"), m.group("arg"), m.group("opts")


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


def _options(opts: str | None, word: str, token: Token) -> dict:
    if opts is None or not opts.strip():
        return {}
    family = "pool" if word in ("pool", "maxpool", "avgpool") else word
    allowed = _ALLOWED.get(family, set())
    result = {}
    for part in opts.split(","):
        part = part.strip()
        if "=" not in part:
            if family == "dropout" and "rate" not in result:
                result["rate"] = _value(part, "rate", token)
                continue
            raise NotationError(f"option '{part}' needs the form name=value at column {token.column}")
        name, value = (s.strip() for s in part.split("=", 1))
        key = _OPTION_NAMES.get(name.lower())
        if key is None or key not in allowed:
            what = f"unknown option '{name}'" if key is None else f"option '{name}' does not apply to {word.upper()}"
            raise NotationError(f"{what} at column {token.column}")
        result[key] = _value(value, key, token)
    return result


def _int_arg(arg, what, token) -> int:
    if arg is None or not re.fullmatch(r"\s*\d+\s*", arg):
        raise NotationError(f"{what} expects an integer after '-' (e.g. {what.split()[0]}-64) at column {token.column}")
    value = int(arg)
    if value <= 0:
        raise NotationError(f"{what} must be positive, got {value} at column {token.column}")
    return value


def _layer(token: Token, classes: int) -> list:
    word, k, arg, opts = _split_word(token)
    options = _options(opts, word, token)
    no_kernel = {"input", "gap", "fc", "fcs", "relu", "tanh", "sigmoid", "softmax", "bn", "lrn", "dropout", "flatten"}
    if k is not None and word in no_kernel:
        raise NotationError(f"unknown layer '{token.text.split('-')[0].split('(')[0]}' at column {token.column}")
    if arg is not None and word not in ("input", "conv", "fc"):
        raise NotationError(f"{word.upper()} takes no '-' argument at column {token.column}")
    if word == "input":
        if arg is None:
            raise NotationError(f"INPUT needs a size such as INPUT-32x32x3 at column {token.column}")
        try:
            h, w, c = parse_size(arg)
        except SpecError as exc:
            raise NotationError(f"{exc} at column {token.column}") from None
        return [Input(h, w, c, name="input")]
    if word == "conv":
        filters = _int_arg(arg, "CONV filters", token)
        kernel = int(k) if k is not None else 3
        if kernel <= 0:
            raise NotationError(f"kernel must be positive at column {token.column}")
        return [Conv2D(filters, kernel, **{"padding": "same", **options})]
    if word in ("pool", "maxpool", "avgpool"):
        kernel = int(k) if k is not None else 2
        if kernel <= 0:
            raise NotationError(f"kernel must be positive at column {token.column}")
        cls = AvgPool2D if word == "avgpool" else MaxPool2D
        return [cls(kernel, **options)]
    if word == "fc":
        return [Dense(_int_arg(arg, "FC units", token), **options)]
    if word == "fcs":
        return [Dense(classes, **options), Activation("softmax")]
    if word in ("relu", "tanh", "sigmoid", "softmax"):
        return [Activation(word)]
    if word == "dropout":
        return [Dropout(options.get("rate", 0.5))]
    simple = {"gap": GlobalAvgPool2D, "bn": BatchNorm, "lrn": LRN, "flatten": Flatten}
    return [simple[word]()]


def parse(text: str, *, classes: int = 10, model: str | None = None) -> Spec:
    """Parse the arrow notation into a :class:`Spec` (see the module docstring for the grammar).

    ``classes`` sets the outputs of ``FCS``. A ``Flatten`` is inserted before the first FC that
    follows spatial layers. Raises :class:`NotationError` naming the column of the bad token.
    """
    if not isinstance(text, str) or not text.strip():
        raise NotationError("empty network: expected layers such as 'INPUT-32x32x3 -> CONV3-32 -> FCS'")
    _check_numbers(text, NotationError)
    tokens = _Parser(text).net(closing=False)
    layers, spatial = [], True
    for position, token in enumerate(tokens):
        built = _layer(token, classes)
        first = built[0]
        if isinstance(first, Input) and position != 0:
            raise NotationError(f"INPUT can only start the network (column {token.column})")
        if isinstance(first, Dense) and spatial:
            layers.append(Flatten())
            spatial = False
        elif isinstance(first, (Conv2D, MaxPool2D, AvgPool2D)) and not spatial:
            raise NotationError(f"{token.text.split('(')[0].upper()} needs a spatial input, but follows FC/GAP/FLATTEN (column {token.column})")
        if isinstance(first, (GlobalAvgPool2D, Flatten)):
            spatial = False
        layers.extend(built)
    name = model or ("custom" if len(text) > 40 else text.strip())
    return Spec(Sequential(tuple(layers)), model=name, description=text.strip())


def to_notation(spec: Spec) -> str:
    """Write a sequential spec back in arrow notation (``parse(to_notation(s))`` rebuilds it).

    Containers (Concat, Add) have no arrow form and raise :class:`SpecError`.
    """
    parts = []
    for layer in spec.root.layers:
        parts.append(_layer_notation(layer))
    return " -> ".join(p for p in parts if p)


def _fmt_opts(pairs) -> str:
    items = [f"{k}={v}" for k, v in pairs]
    return f"({','.join(items)})" if items else ""


def _layer_notation(layer) -> str:
    if isinstance(layer, Input):
        return f"INPUT-{layer.height}x{layer.width}x{layer.channels}"
    if isinstance(layer, Conv2D):
        if isinstance(layer.kernel, tuple) or isinstance(layer.stride, tuple) or isinstance(layer.dilation, tuple) or isinstance(layer.padding, tuple):
            raise SpecError(f"layer '{layer.name}': rectangular kernels have no arrow notation")
        opts = []
        if layer.stride != 1:
            opts.append(("s", layer.stride))
        if layer.padding != "same":
            opts.append(("p", layer.padding))
        if layer.dilation != 1:
            opts.append(("d", layer.dilation))
        if layer.groups != 1:
            opts.append(("g", layer.groups))
        if not layer.bias:
            opts.append(("bias", "false"))
        return f"CONV{layer.kernel}-{layer.filters}{_fmt_opts(opts)}"
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        word = "POOL" if isinstance(layer, MaxPool2D) else "AVGPOOL"
        opts = []
        if layer.stride is not None and layer.stride != layer.kernel:
            opts.append(("s", layer.stride))
        if layer.padding != 0:
            opts.append(("p", layer.padding))
        if layer.ceil_mode:
            opts.append(("ceil", "true"))
        return f"{word}{layer.kernel}{_fmt_opts(opts)}"
    if isinstance(layer, Dense):
        return f"FC-{layer.units}" + ("(bias=false)" if not layer.bias else "")
    if isinstance(layer, Activation):
        return layer.function.upper()
    if isinstance(layer, Dropout):
        return f"DROPOUT({layer.rate:g})"
    simple = {GlobalAvgPool2D: "GAP", BatchNorm: "BN", LRN: "LRN", Flatten: "FLATTEN"}
    if type(layer) in simple:
        return simple[type(layer)]
    raise SpecError(f"layer '{layer.name}' ({layer.kind}) has no arrow notation")
