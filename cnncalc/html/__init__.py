"""Self-contained HTML pages (``--html FILE``): the network drawn, its charts and its table.

One file per page, readable offline: the template (``page.html``, ``page.css``, ``page.js``,
package data next to this module) is filled with the page's data as JSON, and the browser draws
everything from that JSON with inline SVG (a layered-DAG layout written in ``page.js``; no CDN,
no library, and a Content-Security-Policy of ``default-src 'none'`` so the page cannot make a
request even by mistake). The data is what the other formats print: ``Analysis.to_dict()`` (the
documented ``--format json``), the ``--explain`` arithmetic, the summary lines of
:func:`cnncalc.report.summary_lines`, plus the drawing's structure (:mod:`.structure`: the data
flow's edges, the in-place rows and the foldable blocks). Nothing is counted here.

Imported only for ``--html`` (``cnncalc vgg19 --table`` never loads it).
"""

from __future__ import annotations

import json
import math
import re
from importlib import resources

from ..kinds import SpecError
from ..printable import visible
from ..report import CONVENTIONS_TEXT, comparison_dict, summary_lines
from .structure import structure

PAGE_KINDS = ("network", "compare", "runs")
_MARKER = re.compile(r"@@(TITLE|VERSION|CSS|JS|DATA)@@")


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _finite(value):
    """NaN and infinities (a diverged loss) as null: ``JSON.parse`` accepts no other spelling."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _script_json(data) -> str:
    """JSON safe inside ``<script>``: ``</`` and ``<!--`` cannot end or open anything."""
    try:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def fill(title: str, data: dict) -> str:
    """The page: the template with ``data`` (``data["kind"]`` one of :data:`PAGE_KINDS`) embedded.

    One pass over the template's markers, so text inside the data is never taken for a marker.
    """
    if data.get("kind") not in PAGE_KINDS:
        raise ValueError(f"page kind must be one of {', '.join(PAGE_KINDS)}, got {data.get('kind')!r}")
    from .. import __version__

    values = {"TITLE": _escape(visible(title)), "VERSION": _escape(__version__), "CSS": _asset("page.css"), "JS": _asset("page.js"), "DATA": _script_json(data)}
    return _MARKER.sub(lambda m: values[m.group(1)], _asset("page.html"))


def network_data(analysis, units: str = "exact", dtype_bytes: int = 4) -> dict:
    """Everything one network's drawing needs, from the analysis' own outputs."""
    explanations = None
    if not analysis.symbolic:
        from ..explain import explain

        try:
            explanations = {e.name: e.to_dict() for e in explain(analysis)}
        except SpecError:
            explanations = None
    spec = analysis.spec
    return {
        "analysis": analysis.to_dict(),
        "graph": structure(analysis),
        "explain": explanations,
        "summary": summary_lines(analysis, units, dtype_bytes, flops=True),
        "description": spec.description if spec is not None else "",
    }


def network_page(analysis, *, units: str = "exact", dtype_bytes: int = 4) -> str:
    """The page of one analysis (``cnncalc MODEL --html FILE``)."""
    data = {"kind": "network", "network": network_data(analysis, units, dtype_bytes), "conventions": CONVENTIONS_TEXT.rstrip().splitlines()}
    data["description"] = data["network"]["description"]
    return fill(f"{analysis.model}: cnncalc", data)


def compare_page(comparison, *, units: str = "exact") -> str:
    """The networks of a comparison side by side with the saving (``cnncalc compare ... --html``)."""
    data = {
        "kind": "compare",
        "comparison": comparison_dict(comparison),
        "networks": [network_data(c.analysis, units) for c in comparison.columns],
        "warnings": list(comparison.warnings),
        "conventions": CONVENTIONS_TEXT.rstrip().splitlines(),
    }
    return fill(" vs ".join(c.model for c in comparison.columns) + ": cnncalc", data)


def runs_page(data: dict, title: str = "Training runs") -> str:
    """``cnntrain report --html``: ``data`` holds ``columns``, ``rows`` and ``runs`` (see
    :func:`training.runs.report.html_data`)."""
    return fill(title, {"kind": "runs", **data})

