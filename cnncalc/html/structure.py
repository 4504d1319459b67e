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
  functional models) are grouped by the block key their layers share, a leading one
  (``conv2_block1_1_conv`` -> ``conv2_block1``) or a trailing one (NASNet's
  ``separable_conv_1_normal_left1_5`` -> cell ``5``), whichever covers more rows in contiguous
  runs; a large network with neither is cut into runs that end at each merge.
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


def _leading_key(name: str, n: int):
    tokens = name.split("_")
    if len(tokens) <= n or not _DIGITS.search("_".join(tokens[:n])):
        return None
    return "_".join(tokens[:n])


def _trailing_key(name: str):
    tokens = name.split("_")
    if len(tokens) < 2 or not tokens[-1].isdigit():
        return None
    if tokens[-2].isalpha() and len(tokens) > 2:
        return "_".join(tokens[-2:])
    return tokens[-1]


def _runs(keys) -> dict[str, list[int]]:
    """Contiguous runs of one key (rows without a key, or with one of their own, inside a run
    join it); a key that makes two runs keeps its first."""
    count: dict = {}
    for k in keys:
        count[k] = count.get(k, 0) + 1
    keys = [k if k is not None and count[k] > 1 else None for k in keys]
    runs: dict[str, list[int]] = {}
    current, pending = None, []
    for i, k in enumerate(keys):
        if k is None:
            pending.append(i)
            continue
        if k == current:
            runs[k].extend(pending)
            runs[k].append(i)
        elif k not in runs:
            runs[k] = [i]
            current = k
        else:
            current = None
        pending = []
    return {k: rows for k, rows in runs.items() if len(rows) >= 3}


def _flat_groups(names) -> list[Group]:
    best: dict = {}
    for scheme in ([_leading_key(n, 1) for n in names], [_leading_key(n, 2) for n in names], [_trailing_key(n) for n in names]):
        runs = _runs(scheme)
        covered = sum(len(r) for r in runs.values())
        if len(runs) >= 2 and covered * 10 >= 4 * len(names) and covered > sum(len(r) for r in best.values()):
            best = runs
    return _nest(best, lambda key: None)


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
    found = _flat_groups(names)
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
