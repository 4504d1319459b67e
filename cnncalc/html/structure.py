"""The drawing's structure, derived from an analysis: edges, in-place rows and foldable blocks.

The page draws what the analysis computed; this module only says how the rows connect and how
they nest, and never counts anything twice:

- **edges**: the data flow of :func:`cnncalc.traverse.lower` (the same step list the analysis
  ran, so edge ``(u, v)`` joins rows ``u`` and ``v`` of ``Analysis.layers``); each edge carries
  the tensor of row ``u``'s output.
- **hosts**: a row that adds nothing (no activations, parameters or MACs), keeps its input's
  shape and is the only reader of its producer (a ReLU after a convolution, a dropout) is drawn
  inside the producer's node, as Netron and Netscope draw in-place layers; VGG19 is then the 26
  nodes Keras lists (input, 16 convolutions, 5 pools, flatten, 3 dense). Whatever its kind: the
  rule reads only the row's numbers.
- **groups**: blocks that fold into one node. Qualified names (``stage1_block1/conv1``, the
  tree specs' containers and Keras' nested models) give the nesting; flat names (Keras
  functional models, the zoo's VGG) are grouped by the block key their layers share, a leading
  one (``conv2_block1_1_conv`` -> ``conv2_block1``, ``conv3_2`` -> ``conv3``) or a trailing one
  (NASNet's ``separable_conv_1_normal_left1_5`` -> cell ``5``), whichever covers more rows in
  blocks that lie mostly together; an in-place row goes with the row it is drawn in (``relu3_2``
  with ``conv3_2``), and a row named for another stage never joins a block (the stem
  ``conv1_*``/``pool1_*`` before ``conv2_block1``, VGG's ``pool2`` before ``conv3``). A block's
  totals are the sums of its rows. A large network with neither key is cut into runs that end at
  each merge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..arith import is_number, to_json, total
from ..traverse import SEPARATOR, lower

COUNTS = ("activations", "weights", "biases", "non_trainable", "macs")
CHUNK_ROWS = 100
"""A network with more rows than this and no block names is cut into runs ending at merges."""
TOTALS = (*COUNTS, "params")


@dataclass(frozen=True)
class Group:
    key: str  # the qualified prefix or block key (shown as the folded node's name)
    parent: int | None
    rows: tuple  # row indices, in execution order

    def to_dict(self, layers) -> dict:
        members = [layers[i] for i in self.rows]
        return {
            "key": self.key,
            "parent": self.parent,
            "rows": list(self.rows),
            "totals": {k: to_json(total(getattr(r, k) for r in members)) for k in TOTALS},
        }


def edges(analysis) -> list[tuple[int, int]]:
    """``(producer row, reader row)`` pairs, in the order each reader lists its inputs."""
    steps, _ = lower(analysis.spec.root)
    if len(steps) != len(analysis.layers):  # pragma: no cover - the analysis runs these steps
        raise AssertionError("the lowered steps and the analysis rows disagree")
    return [(u, v) for v, st in enumerate(steps) for u in st.inputs]


def _zero(value) -> bool:
    return is_number(value) and value == 0


def hosts(analysis, links) -> list[int | None]:
    """Per row: the row whose node draws it (an in-place row; see the module docstring) or None."""
    layers = analysis.layers
    readers = [0] * len(layers)
    producers: list[list[int]] = [[] for _ in layers]
    for u, v in links:
        readers[u] += 1
        producers[v].append(u)
    host: list[int | None] = [None] * len(layers)
    for i, row in enumerate(layers):
        if len(producers[i]) != 1 or not all(_zero(getattr(row, k)) for k in COUNTS):
            continue
        p = producers[i][0]
        if readers[p] == 1 and tuple(layers[p].output) == tuple(row.output):
            host[i] = host[p] if host[p] is not None else p
    return host


def _tree_groups(names) -> list[Group]:
    """Groups from qualified names: every enclosing prefix; a merge named like its group ends it."""
    members: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        parts = name.split(SEPARATOR)
        for depth in range(1, len(parts)):
            members.setdefault(SEPARATOR.join(parts[:depth]), []).append(i)
    for i, name in enumerate(names):
        if name in members:
            members[name].append(i)
    return _nest({key: sorted(rows) for key, rows in members.items()}, lambda key: key.rsplit(SEPARATOR, 1)[0] if SEPARATOR in key else None)


def _nest(members: dict, parent_of) -> list[Group]:
    keys = sorted(members, key=lambda k: (members[k][0], -len(members[k])))
    index = {k: i for i, k in enumerate(keys)}
    return [Group(k, index.get(parent_of(k)), tuple(members[k])) for k in keys]


_DIGITS = re.compile(r"\d")
_COUNTED = re.compile(r"(.+)_\d+")


def _leading_key(name: str, n: int):
    tokens = name.split("_")
    if len(tokens) <= n or not _DIGITS.search("_".join(tokens[:n])):
        return None
    return "_".join(tokens[:n])


def _trailing_key(name: str):
    """``normal_add_1_5`` -> ``5``, ``adjust_bn_reduce_4`` -> ``reduce_4``; none for Keras'
    auto names (``activation_7``: a class name and a counter)."""
    tokens = name.split("_")
    if len(tokens) < 3 or not tokens[-1].isdigit():
        return None
    if tokens[-2].isalpha() and len(tokens) > 3:
        return "_".join(tokens[-2:])
    return tokens[-1]


def _blocks(keys) -> dict[str, list[int]]:
    """Rows per block key: keys shared by 3 rows or more, whose rows lie mostly together (at
    least half of the rows from a key's first to its last carry it; Keras lists a cell's layers
    nearly in a run, with the next cell's first layers and auto-named ones in between)."""
    members: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k is not None:
            members.setdefault(k, []).append(i)
    blocks = {}
    for k, rows in members.items():
        rows = _densest(rows)
        if len(rows) >= 3 and 2 * len(rows) >= rows[-1] - rows[0] + 1:
            blocks[k] = rows
    return blocks


GAP = 16
"""Rows of one key further apart than this are two clusters; the block is the largest (a stray
``zero_padding2d_5`` far from cell 5, when Keras' counters run on from earlier models)."""


def _densest(rows: list[int]) -> list[int]:
    clusters = [[rows[0]]]
    for r in rows[1:]:
        if r - clusters[-1][-1] > GAP:
            clusters.append([])
        clusters[-1].append(r)
    return max(clusters, key=len)


def _adopt(blocks: dict, links, n: int, adoptable) -> dict:
    """Rows outside every block whose readers all lie in one block join it, if ``adoptable`` says
    they may: a cell's input adjustments (NASNet's ``adjust_conv_projection_5``, auto-named
    ``activation_7``, ``zero_padding2d_1``) belong to the cell that reads them. The input and the
    outputs stay out."""
    block_of = {i: k for k, rows in blocks.items() for i in rows}
    readers: list[list[int]] = [[] for _ in range(n)]
    has_input = [False] * n
    for u, v in links:
        readers[u].append(v)
        has_input[v] = True
    for _ in range(3):  # chains of such rows (zero_padding2d -> cropping2d -> the cell)
        for i in reversed(range(n)):
            if i in block_of or not (has_input[i] and readers[i] and adoptable[i]):
                continue
            around = {block_of.get(j) for j in readers[i]}
            if len(around) == 1 and None not in around:
                block_of[i] = around.pop()
    grouped: dict[str, list[int]] = {}
    for i in sorted(block_of):
        grouped.setdefault(block_of[i], []).append(i)
    return grouped


def _auto_named(names) -> list[bool]:
    """Keras' automatic names count instances of a class: ``max_pooling2d``, ``max_pooling2d_1``,
    ... (the first has no number). Such a name carries no block of its own: its number is a
    counter, not a stage."""
    counted = [_COUNTED.fullmatch(n) for n in names]
    listed = set(names)
    bases = {m.group(1) for m in counted if m is not None and m.group(1) in listed}
    return [n in bases or (m is not None and m.group(1) in bases) for n, m in zip(names, counted)]


def _flat_groups(names, links, host) -> list[Group]:
    """The key scheme that covers the most rows (within a tenth of the best, the one with the
    most blocks: ResNet's ``conv2_block1`` rather than the stage ``conv2``). An in-place row
    (``host``) belongs to the block of the row it is drawn in (VGG's ``relu3_1`` to ``conv3``).

    A leading scheme takes only rows named by it, plus auto-named rows read by one block alone
    (ResNetV2's ``max_pooling2d`` shortcut): the stem (``conv1_*``, ``pool1_*``) and DenseNet's
    transitions stay out of the block after them, and rows of two key tokens left out form
    blocks of their own first key where they can (``conv1``, ``pool2``). Cells named at the end
    (NASNet) also take the unnamed rows that feed them alone (the cell's adjustments)."""
    auto = _auto_named(names)

    def scheme(key):
        keys = [None if a else key(n) for n, a in zip(names, auto)]
        return [keys[h] if h is not None else k for k, h in zip(keys, host)]

    candidates = []
    for trailing, depth, key in ((False, 1, lambda n: _leading_key(n, 1)), (False, 2, lambda n: _leading_key(n, 2)), (True, 0, _trailing_key)):
        blocks = _blocks(scheme(key))
        covered = sum(len(r) for r in blocks.values())
        if len(blocks) >= 2 and covered * 10 >= 4 * len(names):
            candidates.append((trailing, depth, covered, blocks))
    if not candidates:
        return []
    best = max(c for _, _, c, _ in candidates)
    trailing, depth, blocks = max(((t, d, b) for t, d, c, b in candidates if c * 10 >= 9 * best), key=lambda tdb: len(tdb[2]))
    grouped = _adopt(blocks, links, len(names), [True] * len(names) if trailing else auto)
    if trailing:  # a name's end: '…_5' reads as the cell of the layers named '*_5'
        grouped = {f"\u2026_{k}": rows for k, rows in grouped.items()}
    elif depth == 2:
        inside = {i for rows in grouped.values() for i in rows}
        stages = scheme(lambda n: _leading_key(n, 1))
        grouped.update({k: rows for k, rows in _blocks([None if i in inside else k for i, k in enumerate(stages)]).items() if k not in grouped})
    return _nest(grouped, lambda key: None)


def _merge_chunks(analysis, links) -> list[Group]:
    fan_in = [0] * len(analysis.layers)
    for _, v in links:
        fan_in[v] += 1
    chunks, start = {}, 1  # the input stays outside
    for i, row in enumerate(analysis.layers):
        if i and (fan_in[i] > 1 or i == len(analysis.layers) - 1) and i - start >= 2:
            chunks[f"block {len(chunks) + 1} (to {row.name})"] = list(range(start, i + 1))
            start = i + 1
    return _nest(chunks, lambda key: None) if len(chunks) > 1 else []


def groups(analysis, links) -> list[Group]:
    """The foldable blocks, outermost first within each position (see the module docstring)."""
    names = [r.name for r in analysis.layers]
    if any(SEPARATOR in n for n in names):
        return _tree_groups(names)
    found = _flat_groups(names, links, hosts(analysis, links))
    if not found and len(names) > CHUNK_ROWS:
        found = _merge_chunks(analysis, links)
    return found


def structure(analysis) -> dict:
    """Edges, hosts and groups of ``analysis`` as JSON-ready data (the page's ``graph``)."""
    links = edges(analysis)
    found = groups(analysis, links)
    return {
        "edges": [list(e) for e in links],
        "hosts": hosts(analysis, links),
        "groups": [g.to_dict(analysis.layers) for g in found],
    }
