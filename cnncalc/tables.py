"""Plain-text, GitHub-markdown and LaTeX tables, written as tabulate writes them, without tabulate.

tabulate 0.10 reads its own version through ``importlib.metadata`` when it is imported (the email
package comes with it, and wcwidth): that import alone cost ``cnncalc vgg19 --table`` more CPU
than the analysis of VGG19 and the rest of the table together (issue 28). The three layouts the
CLI prints are small, so they are written here, character for character as tabulate's
``simple``, ``github`` and ``latex_booktabs`` formats with ``disable_numparse=True`` write them
(``tests/test_report.py`` compares the two on generated tables): every column at least two
characters wider than its header, cells stripped and padded to the column's alignment, trailing
spaces dropped in ``simple``, LaTeX's special characters escaped after padding.

Cells are single lines (the callers escape control characters first, :mod:`cnncalc.printable`).
Widths are display widths: East Asian wide and full-width characters count two columns,
combining marks and format characters none, as tabulate counts them with wcwidth installed.
"""

from __future__ import annotations

LAYOUTS = ("simple", "github", "latex_booktabs")
MIN_PADDING = 2
"""Each column is at least this much wider than its header (tabulate's ``MIN_PADDING``)."""

LATEX_ESCAPES = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\^{}",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "\\": r"\textbackslash{}",
    "<": r"\ensuremath{<}",
    ">": r"\ensuremath{>}",
}


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide characters two, combining marks none."""
    if text.isascii():
        return len(text)
    import unicodedata  # only for text beyond ASCII

    columns = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        columns += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return columns


def _pad(text: str, columns: int, align: str) -> str:
    fill = " " * max(0, columns - width(text))
    return fill + text if align == "right" else text + fill


def render(headers, rows, layout: str, colalign=None) -> str:
    """``rows`` (lists of cells; ``None`` is empty) under ``headers`` in one of :data:`LAYOUTS`.

    ``colalign``: ``"left"`` or ``"right"`` per column (default: every column left).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"not a table layout: {layout!r} (one of {', '.join(LAYOUTS)})")
    headers = [str(h) for h in headers]
    n = len(headers)
    body = [["" if c is None else str(c).strip() for c in row] for row in rows]
    if any(len(row) != n for row in body):
        raise ValueError(f"every row needs {n} cells, one per header")
    aligns = list(colalign) if colalign is not None else ["left"] * n
    columns = [max([width(h) + MIN_PADDING, *(width(row[j]) for row in body)]) for j, h in enumerate(headers)]

    def line(cells):
        return [_pad(c, w, a) for c, w, a in zip(cells, columns, aligns)]

    if layout == "simple":
        out = ["  ".join(line(headers)).rstrip(), "  ".join("-" * w for w in columns)]
        out += ["  ".join(line(row)).rstrip() for row in body]
        return "\n".join(out)
    if layout == "github":
        out = ["| " + " | ".join(line(headers)) + " |", "|" + "|".join("-" * (w + 2) for w in columns) + "|"]
        out += ["| " + " | ".join(line(row)) + " |" for row in body]
        return "\n".join(out)

    def latex(cells):
        return " " + " & ".join("".join(LATEX_ESCAPES.get(ch, ch) for ch in c) for c in line(cells)) + " \\\\"

    spec = "".join("r" if a == "right" else "l" for a in aligns)
    out = ["\\begin{tabular}{" + spec + "}", "\\toprule", latex(headers), "\\midrule"]
    out += [latex(row) for row in body]
    out += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(out)
