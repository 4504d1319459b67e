"""Every way of printing: the analysis table and summary, comparisons, the Keras check, --explain.

Formatting only, as fvcore keeps its printing in one module: every number comes from the
analyses, which return data (:mod:`cnncalc.compare`, :mod:`cnncalc.keras_check`,
:mod:`cnncalc.explain`), so data flows one way, analysis -> report (docs/design.md). The formats
are defined once (:data:`TABLE_FORMATS`, :data:`FORMATS`, :data:`UNITS`, as torchinfo defines its
settings once) and the CLI takes every ``--format`` and ``--units`` choice list from here, so a
new format is one entry. Every table goes through one renderer (:func:`render_rows`): tabulate's
layouts for text, markdown and LaTeX (written by :mod:`cnncalc.tables`, without importing
tabulate), the csv module for CSV (:func:`csv_text`), with the rule above a totals row in text.
JSON comes from the data's ``to_dict()`` (schema in docs/cli.md). The two drawn outputs sit
*above* this module and use it: the HTML page (:mod:`cnncalc.html`, docs/html.md, drawn from that
same JSON and these summary lines) and the ``--plot`` figure (:mod:`cnncalc.plot`); the CLI
dispatches to them, so nothing here reaches up (docs/design.md).

Imports stay light: no keras (the Keras check is rendered from its duck-typed data), no sympy,
no tabulate (and so no ``importlib.metadata``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from .arith import is_number, to_json
from .conventions import get as get_convention
from .naming import keras_name
from .printable import visible
from .receptive import no_field_reason
from .tables import render

TABLE_FORMATS = {"text": "simple", "markdown": "github", "latex": "latex_booktabs", "csv": None}
"""Every table format and its layout, named as tabulate names it (``None``: the csv module). A new table format
is one entry here; :data:`FORMATS` and every ``--format`` choice list follow."""
FORMATS = (*TABLE_FORMATS, "json")
"""Every output format (``--format``); a command that offers fewer names a subset below."""
COMPARISON_FORMATS = ("text", "markdown", "json")
"""``cnncalc compare``: one column per model has no CSV or LaTeX form."""
PROOF_FORMATS = ("text", "latex")
"""``cnncalc prove``: readable text or a LaTeX document."""
UNITS = ("exact", "human")
"""``exact``: 3,211,264; ``human``: 3.2M."""

CONVENTIONS_TEXT = """\
counting conventions (docs/conventions.md):
  output size   floor((n + 2p - d(k-1) - 1)/s) + 1; 'same' padding gives ceil(n/s) as Keras/TF
  params        conv k_h*k_w*(C_in/groups)*C_out weights + C_out biases; dense in*out + out;
                BatchNorm 2C trainable + 2C non-trainable. params = Keras count_params();
                params - non-trainable = what PyTorch tools report.
  activations   elements of every tensor a layer computes anew (input, conv, pool, dense, BN,
                LRN, concat, add); ReLU, dropout and flatten are in place and add none
  MACs          conv H_out*W_out*C_out*k_h*k_w*C_in/groups; dense in*out; FLOPs = 2 x MACs
  --convention  macs | flops | torchvision | fvcore | ptflops | torchinfo | tf-profiler: count
                operations as that tool does (docs/conventions.md)
  receptive     r <- r + (k_eff - 1) j, j <- j s, k_eff = d(k-1)+1 (Araujo et al., Distill 2019);
  field         start = (r-1)/2 - effective padding; TF 'same' pads floor(total/2) on the left

"""
"""The counting conventions in a few lines: ``cnncalc --help`` and the HTML page's totals show them."""

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


def csv_text(headers, rows) -> str:
    """Headers and rows as CSV (no trailing newline); numbers are written as given, text with its
    control characters escaped (:func:`~cnncalc.printable.visible`: a name is one line, and no
    ESC sequence of a model file reaches the terminal)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([visible(h) for h in headers])
    writer.writerows([visible(c) if isinstance(c, str) else c for c in row] for row in rows)
    return out.getvalue().rstrip("\n")


def render_rows(headers, rows, fmt: str, colalign=None, totals_rule: bool = False) -> str:
    """The one table renderer: ``rows`` of cell strings in a :data:`TABLE_FORMATS` format.

    ``colalign`` is one of ``"left"``/``"right"`` per column (tabulate's; CSV has none).
    ``totals_rule`` draws, in text, a rule above the last row, as hand-written tables have.
    Control characters in cells and headers (a hostile model's names) are written as escapes
    (:func:`~cnncalc.printable.visible`).
    """
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"not a table format: {fmt!r} (one of {', '.join(TABLE_FORMATS)})")
    tablefmt = TABLE_FORMATS[fmt]
    if tablefmt is None:
        return csv_text(headers, rows)
    table = render([visible(h) for h in headers], [[None if c is None else visible(c) for c in row] for row in rows], tablefmt, colalign)
    if fmt != "text" or not totals_rule:
        return table
    lines = table.split("\n")
    return "\n".join(lines[:-1] + [lines[1], lines[-1]])


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
        return get_convention(options.convention).count(stats)
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
    unit = get_convention(options.convention)
    return [f"{unit.unit} [{unit.name}]" if k == "ops" else COLUMNS[k] for k in cols]


def _adds_nothing(stats) -> bool:
    return all(is_number(_value(stats, k)) and _value(stats, k) == 0 for k in NUMERIC if k not in ("flops", "ops"))


NOT_COUNTED = "not counted"
"""The operation cells of a layer whose operations cnncalc has no formula for (``Opaque``)."""


def _cell(stats, key, options: TableOptions):
    if key == "output":
        return shape_text(stats.output)
    if key in ("name", "kind"):
        return getattr(stats, key)
    if key in FIELD_COLUMNS:
        return field_text(getattr(stats, key))
    if key in ("macs", "flops", "ops") and not stats.ops_counted:
        return NOT_COUNTED
    return _value(stats, key, options)


def uncounted_note(analysis) -> str | None:
    """The line under a table whose totals exclude layers of unknown operations, or ``None``."""
    rows = analysis.uncounted
    if not rows:
        return None
    names = visible(", ".join(f"{r.name} ({r.layer.class_name})" if hasattr(r.layer, "class_name") else r.name for r in rows[:5]))
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"the operation totals exclude {len(rows)} layer{'s' if len(rows) > 1 else ''} whose MACs are not counted: {names}{more}"


def table_rows(analysis, options: TableOptions = TableOptions()) -> tuple[list[str], list[list]]:
    """Headers and raw rows (values unformatted), the totals row last."""
    cols = _columns(analysis, options)
    rows = []
    for stats in analysis.layers:
        if not options.all_rows and _adds_nothing(stats) and stats.kind != "Input":
            continue
        rows.append([_cell(stats, k, options) for k in cols])
    totals = []
    for k in cols:
        if k == "name":
            totals.append("total")
        elif k in ("kind",) + FIELD_COLUMNS:
            totals.append("")
        elif k == "output":
            totals.append(shape_text(analysis.output))
        elif k == "ops":
            totals.append(get_convention(options.convention).total(analysis))
        else:
            totals.append(_value(analysis.totals, k))
    rows.append(totals)
    return _headers(cols, options), rows


def render_table(analysis, fmt: str = "text", options: TableOptions = TableOptions()) -> str:
    """The per-layer table in ``fmt`` (text, markdown, latex or csv), totals row last."""
    headers, rows = table_rows(analysis, options)
    keys = _columns(analysis, options)
    if fmt == "csv":
        return csv_text(headers, ([int(v) if is_number(v) else str(v) for v in row] for row in rows))
    cells = [[number(v, options.units) if k in NUMERIC else str(v) for k, v in zip(keys, row)] for row in rows]
    align = ["right" if k in NUMERIC or k in FIELD_COLUMNS or k == "output" else "left" for k in keys]
    text = render_rows(headers, cells, fmt, align, totals_rule=True)
    for note in (uncounted_note(analysis), field_note(analysis, options) if options.rf else None):
        if note and fmt in ("text", "markdown"):
            text += f"\n* {note}"
    return text


def field_note(analysis, options: TableOptions = TableOptions()) -> str | None:
    """The line under a table with receptive-field columns that says why rows show ``-``: the
    input has no field (a vector: no positions), or the field stops at a layer whose output
    still has positions (:func:`field_stop`); said once rather than as a ``-`` on every row
    without a reason."""
    reason = no_field_reason(analysis.input)
    if reason:
        return f"receptive fields: {reason}"
    stop = field_stop(analysis)
    if stop is None:
        return None
    hidden = not options.all_rows and _adds_nothing(stop)
    return (f"receptive fields stop at '{visible(stop.name)}' ({stop.kind}{', a row --all shows' if hidden else ''}): "
            "cnncalc tracks no field through it "
            "(its output positions are not windows of its input's), so it and the rows that read it show '-'")


def field_stop(analysis):
    """The first row where a tracked field ends although the output still has positions (more
    than one along an axis): a class-token Concat, a reshape of an image into tokens, a
    transposed convolution. A row whose output has none (Flatten, Dense, a global pool: the
    field is then the whole input) is no stop, nor one whose kind already says why in a
    warning (attention)."""
    warned = " ".join(w for w in analysis.warnings if "receptive fields stop here" in w)
    tracked = False
    for row in analysis.layers:
        if row.receptive is not None:
            tracked = True
            continue
        positions = row.output[:-1]
        if tracked and positions and any(not is_number(n) or n > 1 for n in positions) \
                and f"'{row.name}'" not in warned:
            return row
    return None


def summary_lines(analysis, units: str = "exact", dtype_bytes: int = 4, flops: bool = False) -> list[str]:
    """The totals in a few readable lines (what ``cnncalc MODEL`` prints without ``--table``)."""
    t = analysis.totals
    lines = [
        f"model        {visible(analysis.model)}",
        f"input        {shape_text(analysis.input)}  ->  output {shape_text(analysis.output)}",
        f"params       {number(t.params, units)}  (weights {number(t.weights, units)}, biases {number(t.biases, units)}"
        + (f", non-trainable {number(t.non_trainable, units)}" if not (is_number(t.non_trainable) and t.non_trainable == 0) else "")
        + ")",
        f"activations  {number(t.activations, units)}  ({_bytes(t.activations, dtype_bytes)} per {'image' if len(analysis.input) == 3 else 'sample'} at {dtype_bytes} bytes)",
        f"MACs         {number(t.macs, units)}" + (f"  (FLOPs {number(t.flops, units)})" if flops else ""),
    ]
    if analysis.uncounted:
        lines[-1] += f"  (excluding {len(analysis.uncounted)} layer(s) not counted)"
    if not (is_number(t.non_trainable) and t.non_trainable == 0):
        lines.insert(3, f"trainable    {number(t.trainable, units)}  (what PyTorch tools call the parameter count)")
    folded = batchnorm_line(analysis, units)
    if folded:
        lines.insert(3, folded)
    upgraded = upgrade_line(analysis)
    if upgraded:
        lines.insert(1, upgraded)
    return lines


def upgrade_line(analysis) -> str | None:
    """The summary line of an ONNX file older than the opset cnncalc reads, upgraded in memory by
    ``onnx.version_converter`` (``spec.meta["upgraded_to"]``, from the ONNX reader; the file itself
    is never rewritten), so a user sees which opset the counts were read at."""
    meta = analysis.spec.meta if analysis.spec is not None else {}
    if not meta or not meta.get("upgraded_to"):
        return None
    return f"opset        {meta['opset']}, upgraded to {meta['upgraded_to']} in memory by onnx.version_converter (the file is unchanged)"


def batchnorm_line(analysis, units: str = "exact") -> str | None:
    """The summary line of an ONNX export whose BatchNorms the exporter folded into the convolutions
    (``spec.meta["folded_batchnorm"]``, from the ONNX reader): how many, and the parameter count
    torch reports for the unfolded model (docs/import.md, "BatchNorm folding")."""
    meta = analysis.spec.meta if analysis.spec is not None else {}
    folded = meta.get("folded_batchnorm") if meta else None
    if not folded:
        return None
    torch_count = analysis.totals.trainable + folded["restore"]
    dropped = folded["restore"] - folded["channels"]
    what = f"folded into {folded['convolutions']} convolution(s) by the exporter ({number(folded['channels'], units)} channels"
    what += f"; their {number(dropped, units)} all-zero bias values dropped)" if dropped else ")"
    return f"batchnorm    {what}: torch counts {number(torch_count, units)} parameters for the unfolded model"


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


# --------------------------------------------------------------------------------------------
# Comparisons (cnncalc.compare.Comparison)
# --------------------------------------------------------------------------------------------


def comparison_dict(comparison) -> dict:
    """The comparison as JSON-ready data (``cnncalc compare --format json``; the HTML page)."""
    return {
        "unit": comparison.unit,
        "models": [
            {
                "model": c.model,
                "output": [to_json(v) for v in c.output],
                "ops": to_json(c.ops),
                "params": to_json(c.params),
                "activations": to_json(c.activations),
                "branches": {label: to_json(v) for label, v in c.branches},
                "saving": _ratio_json(comparison.saving(i)),
            }
            for i, c in enumerate(comparison.columns)
        ],
    }


def render_comparison(comparison, fmt: str = "text", units: str = "exact") -> str:
    """A table with one column per model: output, operations per branch, total, params, saving."""
    if fmt == "json":
        return json.dumps(comparison_dict(comparison), indent=2)
    cols = comparison.columns
    rows = [["output", *(shape_text(c.output) for c in cols)]]
    depth = max(len(c.branches) for c in cols)
    for b in range(depth):
        cells = []
        for c in cols:
            if b < len(c.branches):
                label, value = c.branches[b]
                cells.append(f"{label.split(': ', 1)[1]}  {number(value, units)}")
            else:
                cells.append("")
        rows.append([f"{comparison.unit}, branch {b + 1}", *cells])
    rows.append([f"{comparison.unit}, total", *(number(c.ops, units) for c in cols)])
    rows.append(["params", *(number(c.params, units) for c in cols)])
    rows.append(["activations", *(number(c.activations, units) for c in cols)])
    rows.append([f"{comparison.unit} saving vs {cols[0].model}", *(_ratio_text(comparison.saving(i)) for i in range(len(cols)))])
    return render_rows(["", *(c.model for c in cols)], rows, "markdown" if fmt == "markdown" else "text", ["left"] + ["right"] * len(cols))


def _ratio_text(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2f}x"
    return f"{value}x"


def _ratio_json(value):
    if value is None:
        return None
    return round(value, 4) if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------------------------
# The Keras check (cnncalc.keras_check.CheckResult)
# --------------------------------------------------------------------------------------------


def _check_headers(result) -> list[str]:
    headers = ["layer", "kind", "output", "keras output", "trainable", "keras trainable"]
    if _show_non_trainable(result):
        headers += ["non-trainable", "keras non-trainable"]
    if _show_folded(result):
        headers.append("keras layers")
    return headers + ["check"]


def _show_non_trainable(result) -> bool:
    return any(side is not None and side.non_trainable for row in (*result.rows, result.totals) for side in (row.ours, row.keras))


def _show_folded(result) -> bool:
    return any(row.keras_layers != (keras_name(row.name),) for row in result.rows if row.ours is not None)


def _check_cells(result, row, fmt_number) -> list:
    def get(side, key):
        if side is None:
            return "-"
        value = getattr(side, key)
        return shape_text(value) if key == "output" else fmt_number(value)

    cells = [row.name, row.kind, get(row.ours, "output"), get(row.keras, "output"), get(row.ours, "trainable"), get(row.keras, "trainable")]
    if _show_non_trainable(result):
        cells += [get(row.ours, "non_trainable"), get(row.keras, "non_trainable")]
    if _show_folded(result):
        cells.append(" + ".join(row.keras_layers) if row.keras_layers else "-")
    if row.ok:
        cells.append("OK" if getattr(row, "split", True) else "OK (params: the file does not say which are trainable)")
    else:
        cells.append("MISMATCH (" + ", ".join(d.replace("_", "-") for d in row.differs) + ")")
    return cells


def render_check(result, fmt: str = "text") -> str:
    """The check as a table (text, markdown, latex, csv) or JSON, the totals row last.

    Text and markdown end with a verdict line; when something differs, the differing rows are
    listed again under the table so that a long table does not hide them.
    """
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2)
    headers = _check_headers(result)
    rows = [*result.rows, result.totals]
    if fmt == "csv":
        return csv_text(headers, (_check_cells(result, row, str) for row in rows))
    numeric = {"output", "keras output", "trainable", "keras trainable", "non-trainable", "keras non-trainable"}
    align = ["right" if h in numeric else "left" for h in headers]

    def table(selected, totals_rule=False):
        cells = [_check_cells(result, row, number) for row in selected]
        return render_rows(headers, cells, fmt, align, totals_rule=totals_rule)

    text = table(rows, totals_rule=True)
    if fmt == "latex":
        return text
    t = result.totals.keras
    where = f"Keras {result.keras_version}, {result.backend} backend"
    if result.ok:
        verdict = (
            f"OK: all {len(result.rows)} layers and the totals agree with Keras ({where}): "
            f"{number(t.params)} params ({number(t.trainable)} trainable, {number(t.non_trainable)} non-trainable), "
            f"output {shape_text(t.output)}"
        )
        return f"{text}\n\n{verdict}"
    bad = result.mismatches
    verdict = f"MISMATCH: {len(bad)} of {len(rows)} rows differ from Keras ({where}):"
    return f"{text}\n\n{verdict}\n\n{table(bad)}"


# --------------------------------------------------------------------------------------------
# --explain (cnncalc.explain.Explanation)
# --------------------------------------------------------------------------------------------


_LABELS = {"activations": "activations", "weights": "weights", "biases": "biases", "non_trainable": "non-trainable", "params": "params", "macs": "MACs"}


def render_explanations(explanations, units: str = "exact", bias: bool = True) -> str:
    """One block per row: ``conv2 params: 2 x (5x5x48x128 + 128) = 307,456``."""
    lines = []
    for e in explanations:
        for quantity, text, value in e.steps:
            if not bias and quantity in ("biases", "params"):
                continue
            label = _LABELS.get(quantity, quantity)
            shown = number(value, units)
            name = visible(e.name)
            lines.append(f"{name} {label}: {text} = {shown}" if text != str(value) else f"{name} {label}: {shown}")
    return "\n".join(lines)
