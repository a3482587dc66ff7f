"""The smallest text of a figure, as nmf_lib.legibility measures and records it."""

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402 (matplotlib's own dependency)

from nmf_lib.legibility import (  # noqa: E402
    DPI_KEY, SMALLEST_TEXT_KEY, css_px, record_text_size, smallest_text_pt, text_size_record,
)

BOOK_RC = Path(__file__).resolve().parents[1] / "book" / "matplotlibrc"
HOOK = "nmf_lib.legibility:record_text_size"


@pytest.fixture
def stamped():
    """pyplot figures made while the book's figure hook is on."""
    with matplotlib.rc_context({"figure.hooks": [HOOK]}):
        yield
    plt.close("all")


def drawn(fig):
    fig.canvas.draw()
    return fig


def png_text(data: bytes) -> dict:
    return Image.open(io.BytesIO(data)).text


def test_smallest_text_is_the_smallest_font_drawn():
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([0, 1])
    a.set_title("title", fontsize=12)
    a.tick_params(labelsize=7)
    b.plot([0, 1])
    b.set_xlabel("x", fontsize=11)
    assert smallest_text_pt(drawn(fig)) == 7
    b.text(0.5, 0.5, "note", fontsize=6.5)
    assert smallest_text_pt(drawn(fig)) == 6.5
    plt.close(fig)


def test_mathtext_scripts_count_at_their_drawn_size():
    fig, ax = plt.subplots()
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("$W_{ik}$", fontsize=10)  # mathtext draws the subscript at 0.7 x
    assert smallest_text_pt(drawn(fig)) == pytest.approx(7.0)
    ax.set_title("plain $W$", fontsize=10)
    assert smallest_text_pt(drawn(fig)) == pytest.approx(10.0)
    ax.set_title("5$ and 6$", fontsize=10)  # one dollar each: not math
    assert smallest_text_pt(drawn(fig)) == pytest.approx(10.0)
    plt.close(fig)


def test_text_that_is_not_drawn_does_not_count():
    fig, (a, b, c) = plt.subplots(1, 3)
    for ax in (a, b, c):
        ax.tick_params(labelsize=5)  # tiny tick labels, on axes that draw none
    a.axis("off")
    a.set_title("shown", fontsize=9)
    b.set_visible(False)
    c.set_xticks([])
    c.set_yticks([])
    c.text(0, 0, "hidden", fontsize=4, visible=False)
    c.text(0, 0, "   ", fontsize=4)
    fig.suptitle("")
    assert smallest_text_pt(drawn(fig)) == 9
    plt.close(fig)
    fig = plt.figure()
    assert smallest_text_pt(drawn(fig)) is None
    assert text_size_record(fig, 100) == {SMALLEST_TEXT_KEY: "none", DPI_KEY: "100"}
    plt.close(fig)


def test_table_cells_count_at_their_fitted_size():
    fig, ax = plt.subplots()
    ax.axis("off")
    table = ax.table([["a much longer cell than fits", "b"]], loc="center")
    table.set_fontsize(3)
    table.auto_set_font_size(False)
    assert smallest_text_pt(drawn(fig)) == 3
    plt.close(fig)


def test_every_png_of_a_hooked_figure_records_its_text_size_and_dpi(stamped):
    from IPython.core.pylabtools import print_figure  # what the inline backend displays

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1])
    ax.tick_params(labelsize=8)
    inline = png_text(print_figure(fig, "png", bbox_inches="tight"))
    assert inline[SMALLEST_TEXT_KEY] == "8" and inline[DPI_KEY] == f"{fig.dpi:g}"
    for kwargs in ({"dpi": 150}, {"dpi": 72, "bbox_inches": "tight"}):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", **kwargs)
        saved = png_text(buf.getvalue())
        assert saved[SMALLEST_TEXT_KEY] == "8" and saved[DPI_KEY] == str(kwargs["dpi"])
        assert Image.open(buf).width == pytest.approx(4 * kwargs["dpi"], abs=1) or "bbox_inches" in kwargs
    ax.set_title("small", fontsize=5)  # measured on the drawing that is saved, not earlier
    assert png_text(print_figure(fig, "png"))[SMALLEST_TEXT_KEY] == "5"
    buf = io.BytesIO()
    fig.savefig(buf, format="svg")  # other formats are left alone
    assert buf.getvalue().startswith(b"<?xml")


def test_figures_without_the_hook_record_nothing():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert SMALLEST_TEXT_KEY not in png_text(buf.getvalue())
    record_text_size(fig)  # the hook, applied by hand
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert SMALLEST_TEXT_KEY in png_text(buf.getvalue())
    plt.close(fig)


def test_the_book_turns_the_hook_on():
    assert HOOK in matplotlib.rc_params_from_file(str(BOOK_RC), use_default_template=False)[
        "figure.hooks"]


def test_css_px_scales_text_by_dpi_and_displayed_width():
    # 10 pt at 100 dpi is 13.9 image pixels; an image 1300 px wide shown 671 px wide
    assert css_px(10, 100, 1300, 671) == pytest.approx(10 * 100 / 72 * 671 / 1300)
    assert css_px(8, 100, 1300, 671) < 9 <= css_px(9, 100, 700, 671)
    # the dpi cancels out for a figure shown at a fixed width: only inches matter
    assert css_px(9, 200, 1400, 671) == pytest.approx(css_px(9, 100, 700, 671))
