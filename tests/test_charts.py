"""ops.charts: real PNGs from matplotlib, deterministic, Cyrillic drawn with DejaVu Sans."""

from __future__ import annotations

import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from ops.charts import Bars, bar_chart, bar_panels, format_value

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parent.parent


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels from the PNG's IHDR chunk."""
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def png_chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def test_a_bar_chart_is_a_png_whose_height_grows_with_the_bars():
    two = bar_chart("Minutes", ["France", "Germany"], [12.0, 3.5], unit="min")
    six = bar_chart("Minutes", [f"zone {i}" for i in range(6)], [1.0] * 6, unit="min")
    width2, height2 = png_size(two)
    width6, height6 = png_size(six)
    assert width2 == width6 == 900
    assert height6 > height2 > 100
    assert len(two) > 5_000  # drawn, not an empty canvas


def test_the_same_figures_give_the_same_bytes_and_no_date_or_version():
    args = ("Revenue", ["ETT", "WAVES"], [1.5, 0.25])
    first = bar_chart(*args, unit="ETT")
    assert bar_chart(*args, unit="ETT") == first
    assert bar_chart("Revenue", ["ETT", "WAVES"], [1.5, 0.26], unit="ETT") != first
    assert b"tIME" not in png_chunks(first)
    assert b"matplotlib" not in first.lower()


def test_cyrillic_and_long_labels_render_without_missing_glyphs():
    labels = ["Россия — мобильные (МТС, Билайн, МегаФон)", "Франция", "x" * 200]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font" would raise here
        data = bar_chart("Минуты по направлениям", labels, [10, 2, 1], unit="мин")
    assert png_size(data)[1] > 100


def test_a_missing_glyph_is_noticed_by_the_check_above():
    # DejaVu Sans has no CJK: the same check does fail when a glyph is missing.
    with pytest.warns(UserWarning, match="missing from font"):
        bar_chart("通话", ["东京"], [1.0], unit="min")


def test_an_empty_chart_says_no_data_and_stacked_panels_are_one_png():
    assert png_size(bar_chart("Refusals", [], [], unit="calls"))[1] > 50
    one = bar_panels([Bars("Minutes", ["a", "b"], [1, 2], "min")])
    both = bar_panels(
        [Bars("Minutes", ["a", "b"], [1, 2], "min"), Bars("Revenue", ["ETT"], [0.5], "ETT")]
    )
    assert png_size(both)[1] > png_size(one)[1]


def test_bad_figures_are_refused():
    with pytest.raises(ValueError, match="2 labels for 1 values"):
        bar_chart("t", ["a", "b"], [1.0], unit="min")
    with pytest.raises(ValueError, match="not a finite number"):
        bar_chart("t", ["a"], [float("nan")], unit="min")
    with pytest.raises(ValueError, match="at least one panel"):
        bar_panels([])


def test_values_are_written_exactly():
    assert format_value(1234) == "1,234"
    assert format_value(0.125) == "0.125"
    assert format_value(0.00000001) == "0.00000001"
    assert format_value(12.5) == "12.5"


def test_importing_the_module_does_not_import_matplotlib():
    code = "import sys, ops.charts; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
