"""Private: a matplotlib figure on the Agg canvas, imported lazily, leaving pyplot's backend alone."""

from __future__ import annotations


def agg_figure(figsize=(7.0, 3.5)):
    """A ``matplotlib.figure.Figure`` attached to an Agg canvas; save it with ``fig.savefig(path)``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig
