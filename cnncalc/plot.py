"""``--plot FILE.png|svg|pdf``: per-layer parameters, activations and MACs as bars, for a paper.

Three stacked panels share one x axis (the layers in execution order, only rows that add
something), log-scaled so that a 1x1 convolution and a 4096-wide dense layer both show. Past
:data:`MAX_BARS` rows the labels would not be readable, so the rows are summed per block (the
foldable blocks of the HTML page, :mod:`cnncalc.html.structure`, outermost level) and each bar is
one block, labelled with its name; layers outside every block stay single bars.

matplotlib (the ``plots`` extra) is imported only here, on a ``Figure`` with its own Agg canvas
(pyplot's global state is left alone), and the file is written atomically
(:func:`cnncalc.atomic.replacing`). The numbers are the analysis' rows; nothing is recounted but
the block sums.
"""

from __future__ import annotations

from .arith import is_number
from .atomic import replacing
from .kinds import SpecError

FORMATS = ("png", "svg", "pdf")
"""``--plot FILE``: the formats matplotlib writes here, named by the file's extension."""
MAX_BARS = 120
"""More rows than this are grouped by block (a bar per block)."""
QUANTITIES = (("params", "parameters"), ("activations", "activations (output elements)"), ("macs", "MACs"))


def plot_extension(path: str) -> str:
    """The format a ``--plot`` file name asks for (one of :data:`FORMATS`), or a one-line error."""
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if ext not in FORMATS:
        raise ValueError(f"--plot writes {', '.join('.' + e for e in FORMATS)} files, got '{path}'")
    return ext


def bars(analysis) -> tuple[str, list[tuple[str, dict]]]:
    """``(what a bar is, [(label, {quantity: value}), ...])``: one bar per row that adds something,
    or per block when there are more than :data:`MAX_BARS` of them."""
    rows = [(i, r) for i, r in enumerate(analysis.layers) if r.kind == "Input" or any(getattr(r, k) for k, _ in QUANTITIES)]
    if len(rows) <= MAX_BARS:
        return "layer", [(r.name, {k: getattr(r, k) for k, _ in QUANTITIES}) for _, r in rows]
    from .html.structure import edges, groups

    top = [g for g in groups(analysis, edges(analysis)) if g.parent is None]
    block_of = {i: g.key for g in top for i in g.rows}
    out: list[tuple[str, dict]] = []
    for i, r in rows:
        label = block_of.get(i, r.name)
        if out and out[-1][0] == label and i in block_of:
            for k, _ in QUANTITIES:
                out[-1][1][k] += getattr(r, k)
        else:
            out.append((label, {k: getattr(r, k) for k, _ in QUANTITIES}))
    return ("block" if top else "layer"), out


def plot_layers(analysis, path: str, *, title: str | None = None) -> str:
    """Write the three panels to ``path`` (format from its extension); returns the path."""
    ext = plot_extension(path)
    if analysis.symbolic:
        raise SpecError("--plot needs numeric sizes: give a numeric --input (the HTML page shows symbolic ones)")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError as exc:
        raise SpecError(f"--plot needs matplotlib ({exc.name} is not installed): pip install 'cnncalc[plots]'") from None
    unit, items = bars(analysis)
    n = len(items)
    width = min(28.0, max(7.0, 0.16 * n + 2.5))
    fig = Figure(figsize=(width, 8.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    xs = range(n)
    colours = ("#0969da", "#1a7f37", "#cf222e")
    for ax, (key, label), colour in zip(axes, QUANTITIES, colours):
        values = [int(v[key]) if is_number(v[key]) else 0 for _, v in items]
        ax.bar(xs, values, color=colour, width=0.8)
        if any(values):
            ax.set_yscale("log")
        ax.set_ylabel(label, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.margins(x=0.005)
    total = analysis.totals
    axes[0].set_title(title or f"{analysis.model}: {int(total.params):,} parameters, {int(total.activations):,} activations, {int(total.macs):,} MACs\nper {unit}, log scale", fontsize=10)
    axes[-1].set_xticks(list(xs))
    axes[-1].set_xticklabels([label for label, _ in items], rotation=90, fontsize=7 if n <= 80 else 6)
    fig.tight_layout()
    with replacing(path, suffix="." + ext) as tmp:
        fig.savefig(tmp, format=ext, dpi=150)
    return path
