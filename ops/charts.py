"""Bar charts as PNG images (matplotlib, Agg backend): the monthly report's and the polls'.

Deterministic: the same figures give the same bytes (no date and no software version in
the PNG's metadata). Labels are drawn with DejaVu Sans, the font matplotlib ships, so
Latin, Cyrillic and Greek render; a label longer than LABEL_MAX characters is cut with
an ellipsis. matplotlib is imported inside the functions: `main.py parse` and the
service start without it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

LABEL_MAX = 40  # characters of a bar's label; longer ones end in "…"
FONT = "DejaVu Sans"
_BAR_INCHES = 0.38  # height of one bar's row
_WIDTH_INCHES = 9.0
_DPI = 100


@dataclass(frozen=True)
class Bars:
    """One panel of horizontal bars: a title, one label per value, the values' unit
    (shown after each value, such as "min" or "ETT")."""

    title: str
    labels: Sequence[str]
    values: Sequence[float]
    unit: str


def bar_chart(title: str, labels: list[str], values: list[float], *, unit: str) -> bytes:
    """A PNG (bytes) of one horizontal bar per label, in the order given (first on top),
    each bar's value written after it with `unit`. An empty list gives a chart that says
    "no data". Raises ValueError when labels and values differ in length or a value is
    not finite."""
    return bar_panels([Bars(title, labels, values, unit)])


def bar_panels(panels: Sequence[Bars]) -> bytes:
    """A PNG (bytes) of several bar charts stacked in one image, top to bottom (the
    monthly report's minutes and revenue). Raises ValueError as bar_chart does, or when
    no panel is given."""
    if not panels:
        raise ValueError("a chart needs at least one panel")
    for panel in panels:
        _check(panel)
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [max(len(panel.values), 1) for panel in panels]
    heights = [row * _BAR_INCHES + 1.1 for row in rows]
    with matplotlib.rc_context(
        {"font.family": "sans-serif", "font.sans-serif": [FONT], "svg.hashsalt": "0"}
    ):
        figure = Figure(figsize=(_WIDTH_INCHES, sum(heights)), dpi=_DPI)
        FigureCanvasAgg(figure)
        axes_list = figure.subplots(
            len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights}
        )
        for axes, panel in zip((row[0] for row in axes_list), panels, strict=True):
            _draw(axes, panel)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def format_value(value: float) -> str:
    """A value as written beside its bar: whole numbers with thousands separators
    ("1,234"), others with up to 8 decimals and no trailing zeros ("0.125")."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.8f}".rstrip("0").rstrip(".")


def _check(panel: Bars) -> None:
    if len(panel.labels) != len(panel.values):
        raise ValueError(
            f"{len(panel.labels)} labels for {len(panel.values)} values in {panel.title!r}"
        )
    if not all(math.isfinite(value) for value in panel.values):
        raise ValueError(f"a value of {panel.title!r} is not a finite number")


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1] + "…"


def _draw(axes, panel: Bars) -> None:  # noqa: ANN001 (matplotlib Axes, imported lazily)
    axes.set_title(panel.title, loc="left", fontsize=12, fontweight="bold")
    if not panel.values:
        axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    positions = list(range(len(panel.values)))
    values = [float(value) for value in panel.values]
    bars = axes.barh(positions, values, color="#3b6ea8")
    axes.set_yticks(positions, [_short(label) for label in panel.labels])
    axes.invert_yaxis()  # the first label on top
    texts = [f"{format_value(v)} {panel.unit}".strip() for v in values]
    axes.bar_label(bars, texts, padding=3, fontsize=9)
    low, high = min(values + [0.0]), max(values + [0.0])
    span = (high - low) or 1.0
    # room beside the longest bar of each side for its value
    axes.set_xlim(low - (0.35 * span if low < 0 else 0), high + (0.35 * span if high > 0 else 0))
    axes.set_xlabel(panel.unit)
    axes.spines[["top", "right"]].set_visible(False)
