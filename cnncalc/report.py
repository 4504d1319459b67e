"""Render an :class:`cnncalc.analysis.Analysis` as text, markdown, LaTeX, CSV or JSON.

Formatting only: every number comes from the analysis. Tables go through tabulate (text, markdown
and LaTeX), CSV through the csv module, JSON through ``Analysis.to_dict()`` (schema in docs/cli.md).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from .arith import is_number

FORMATS = ("text", "markdown", "latex", "csv", "json")
UNITS = ("exact", "human")

# column key -> header
COLUMNS = {
    "name": "layer",
    "kind": "kind",
    "output": "output",
    "activations": "activations",
    "weights": "weights",
    "biases": "biases",
    "non_trainable": "non-trainable",
    "params": "params",
    "macs": "MACs",
    "flops": "FLOPs",
    "ops": "ops",
    "rf": "RF",
    "jump": "jump",
    "start": "start",
    "effective_padding": "eff. padding",
}
NUMERIC = ("activations", "weights", "biases", "non_trainable", "params", "macs", "flops", "ops")
FIELD_COLUMNS = ("rf", "jump", "start", "effective_padding")
_TABULATE_FORMAT = {"text": "simple", "markdown": "github", "latex": "latex_booktabs"}


@dataclass(frozen=True)
class TableOptions:
    """Which columns and rows a table shows, and how numbers are written."""

    units: str = "exact"  # "exact": 3,211,264; "human": 3.2M
    bias: bool = True  # False: weights only, as the VGG table counts
    flops: bool = False  # add a FLOPs (= 2 x MACs) column
    kind: bool = False  # add the layer kind column
    all_rows: bool = False  # also rows that add nothing (ReLU, dropout, flatten)
    non_trainable: bool | None = None  # None: shown when the model has any
    rf: bool = False  # add receptive field, jump, start and effective padding columns
    convention: str | None = None  # count operations as this tool does (cnncalc.conventions)


def shape_text(shape) -> str:
    """``(224, 224, 64) -> '224x224x64'``; ``(4096,) -> '4096'``; symbolic ``'floor(H/2) x floor(W/2) x 64'``."""
    sep = "x" if all(is_number(v) for v in shape) else " x "
    return sep.join(str(v) for v in shape)


def human(value) -> str:
    """Short count as in the course notes: 150528 -> 150K, 3211264 -> 3.2M (truncated, not rounded).

    Below 1,000 the exact integer; from 1,000 on, K/M/G/T with one decimal under 10 and none above
    (the notes' ``150K``, ``3.2M``, ``1.6M``, ``25K``).
    """
    if not is_number(value):
        return str(value)
    value = int(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < 1000:
        return f"{sign}{value}"
    for power, suffix in ((4, "T"), (3, "G"), (2, "M"), (1, "K")):
        base = 1000**power
        if value >= base:
            mantissa = value / base
            if mantissa < 10:
                text = f"{int(mantissa * 10) / 10:.1f}".rstrip("0").rstrip(".")
            else:
                text = str(int(mantissa))
            return f"{sign}{text}{suffix}"
    return f"{sign}{value}"  # pragma: no cover


def number(value, units: str = "exact") -> str:
    """An exact count with thousands separators, a human count, or a symbolic expression."""
    if not is_number(value):
        return str(value)
    return human(value) if units == "human" else f"{int(value):,}"


def _columns(analysis, options: TableOptions) -> list[str]:
    cols = ["name"] + (["kind"] if options.kind else []) + ["output", "activations", "weights"]
    if options.bias:
        cols.append("biases")
        show_nt = options.non_trainable
        if show_nt is None:
            show_nt = not (is_number(analysis.totals.non_trainable) and analysis.totals.non_trainable == 0)
        if show_nt:
            cols.append("non_trainable")
        cols.append("params")
    cols.append("ops" if options.convention not in (None, "macs") else "macs")
    if options.flops:
        cols.append("flops")
    if options.rf:
        cols.extend(FIELD_COLUMNS)
    return cols


def _value(stats, key, options: TableOptions = TableOptions()):
    if key == "flops":
        return 2 * stats.macs
    if key == "ops":
        from .conventions import get

        return get(options.convention).count(stats)
    return getattr(stats, key)


def field_text(value) -> str:
    """A receptive-field cell: ``195``, ``15.5``, ``11x7`` for (h, w), ``-`` when not spatial."""
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return "x".join(field_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _headers(cols, options: TableOptions) -> list[str]:
    if "ops" not in cols:
        return [COLUMNS[k] for k in cols]
    from .conventions import get

    unit = get(options.convention)
    return [f"{unit.unit} [{unit.name}]" if k == "ops" else COLUMNS[k] for k in cols]


def _adds_nothing(stats) -> bool:
    return all(is_number(_value(stats, k)) and _value(stats, k) == 0 for k in NUMERIC if k not in ("flops", "ops"))


def table_rows(analysis, options: TableOptions = TableOptions()) -> tuple[list[str], list[list]]:
    """Headers and raw rows (values unformatted), the totals row last."""
    cols = _columns(analysis, options)
    rows = []
    for stats in analysis.layers:
        if not options.all_rows and _adds_nothing(stats) and stats.kind != "Input":
            continue
        rows.append([shape_text(stats.output) if k == "output" else getattr(stats, k) if k in ("name", "kind") else field_text(getattr(stats, k)) if k in FIELD_COLUMNS else _value(stats, k, options) for k in cols])
    totals = []
    for k in cols:
        if k == "name":
            totals.append("total")
        elif k in ("kind",) + FIELD_COLUMNS:
            totals.append("")
        elif k == "output":
            totals.append(shape_text(analysis.output))
        elif k == "ops":
            from .conventions import get

            totals.append(get(options.convention).total(analysis))
        else:
            totals.append(_value(analysis.totals, k))
    rows.append(totals)
    return _headers(cols, options), rows


def render_table(analysis, fmt: str = "text", options: TableOptions = TableOptions()) -> str:
    """The per-layer table in ``fmt`` (text, markdown, latex or csv), totals row last."""
    headers, rows = table_rows(analysis, options)
    keys = _columns(analysis, options)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows([int(v) if is_number(v) else str(v) for v in row] for row in rows)
        return out.getvalue().rstrip("\n")
    from tabulate import tabulate

    cells = [[number(v, options.units) if k in NUMERIC else str(v) for k, v in zip(keys, row)] for row in rows]
    align = ["right" if k in NUMERIC or k in FIELD_COLUMNS or k == "output" else "left" for k in keys]
    table = tabulate(cells, headers=headers, tablefmt=_TABULATE_FORMAT[fmt], disable_numparse=True, colalign=align)
    if fmt != "text":
        return table
    # A rule above the totals row, as hand-written tables have.
    lines = table.split("\n")
    return "\n".join(lines[:-1] + [lines[1], lines[-1]])


def summary_lines(analysis, units: str = "exact", dtype_bytes: int = 4, flops: bool = False) -> list[str]:
    """The totals in a few readable lines (what ``cnncalc MODEL`` prints without ``--table``)."""
    t = analysis.totals
    lines = [
        f"model        {analysis.model}",
        f"input        {shape_text(analysis.input)}  ->  output {shape_text(analysis.output)}",
        f"params       {number(t.params, units)}  (weights {number(t.weights, units)}, biases {number(t.biases, units)}"
        + (f", non-trainable {number(t.non_trainable, units)}" if not (is_number(t.non_trainable) and t.non_trainable == 0) else "")
        + ")",
        f"activations  {number(t.activations, units)}  ({_bytes(t.activations, dtype_bytes)} per image at {dtype_bytes} bytes)",
        f"MACs         {number(t.macs, units)}" + (f"  (FLOPs {number(t.flops, units)})" if flops else ""),
    ]
    if not (is_number(t.non_trainable) and t.non_trainable == 0):
        lines.insert(3, f"trainable    {number(t.trainable, units)}  (what PyTorch tools call the parameter count)")
    return lines


def _bytes(elements, dtype_bytes: int) -> str:
    if not is_number(elements):
        return f"{dtype_bytes}*({elements}) B"
    size = elements * dtype_bytes
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def render_json(analysis, extra: dict | None = None) -> str:
    """``Analysis.to_dict()`` as indented JSON (ints stay ints; symbolic values are strings)."""
    data = analysis.to_dict()
    if extra:
        data.update(extra)
    return json.dumps(data, indent=2)
