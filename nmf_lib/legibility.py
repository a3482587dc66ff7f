"""How small a figure's text is, recorded in the image so the built book can check it.

A figure is legible as displayed when its smallest text, in CSS pixels at the width at
which the page shows the image, is about 9 px or more. Text of ``size_pt`` points drawn
at ``dpi`` is ``size_pt * dpi / 72`` pixels of the image, and a page that shows an image
``image_px`` pixels wide at ``displayed_px`` CSS pixels scales it by
``displayed_px / image_px`` (``css_px``). The browser test measures the two widths; this
module supplies ``size_pt`` and ``dpi``:

* ``smallest_text_pt(fig)``: the smallest font size, in points, of the text a drawn figure
  shows: every visible, non-empty ``Text`` (titles, axis labels, tick labels, legends,
  annotations, table cells) whose parents are visible too, tick labels only on axes
  that draw them; a mathtext sub- or superscript counts at the size mathtext draws it.
* ``record_text_size(fig)``: an entry for matplotlib's ``figure.hooks`` (see
  book/matplotlibrc): every PNG of the figure, displayed inline or saved, carries
  ``smallest_text_pt`` and the dpi it was drawn at as PNG text chunks (keys
  ``SMALLEST_TEXT_KEY`` and ``DPI_KEY``), measured on the very drawing that is saved.
* ``text_size_record(fig, dpi)``: the two numbers as text; ``html_video`` (animate.py)
  writes them on its ``<video>`` element as ``data-smallest-text-pt`` and ``data-dpi``.
"""

from __future__ import annotations

from functools import lru_cache

from matplotlib import cbook
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.spines import Spine
from matplotlib.table import Cell
from matplotlib.text import Text

__all__ = ["SMALLEST_TEXT_KEY", "DPI_KEY", "css_px", "smallest_text_pt", "text_size_record",
           "record_text_size"]

SMALLEST_TEXT_KEY = "smallest-text-pt"  # "none" for a figure without text
DPI_KEY = "dpi"


def css_px(size_pt: float, dpi: float, image_px: float, displayed_px: float) -> float:
    """Height in CSS pixels of ``size_pt``-point text drawn at ``dpi`` in an image
    ``image_px`` pixels wide that a page shows ``displayed_px`` CSS pixels wide."""
    return size_pt * dpi / 72.0 * displayed_px / image_px


def _shown_texts(artist):
    """The non-empty Text artists that drawing ``artist`` draws."""
    if not artist.get_visible():
        return
    if isinstance(artist, Text):
        if artist.get_text().strip():
            yield artist
    elif isinstance(artist, Cell):  # a table cell holds its Text without listing it
        yield from _shown_texts(artist.get_text())
    for child in artist.get_children():
        # axis("off") hides the axes' axis lines, ticks and labels without making them invisible
        if isinstance(artist, Axes) and not artist.axison and isinstance(child, (Axis, Spine)):
            continue
        yield from _shown_texts(child)


@lru_cache(maxsize=512)
def _math_sizes(text: str, props) -> tuple[float, ...]:
    from matplotlib.mathtext import MathTextParser

    parsed = MathTextParser("path").parse(text, dpi=72, prop=props)
    return tuple(glyph[1] for glyph in parsed.glyphs)


def _size_pt(text: Text) -> float:
    size = float(text.get_fontsize())
    s = text.get_text()
    if text.get_parse_math() and not text.get_usetex() and cbook.is_math_text(s):
        sizes = _math_sizes(s, text.get_fontproperties().copy())
        if sizes:
            return min(min(sizes), size)
    return size


def smallest_text_pt(fig) -> float | None:
    """The smallest font size (points) of the text ``fig`` shows, None if it shows none.

    Measure a drawn figure: tick labels get their text, and tables their font size, when
    the figure is drawn.
    """
    sizes = [_size_pt(text) for text in _shown_texts(fig)]
    return min(sizes) if sizes else None


def text_size_record(fig, dpi: float) -> dict[str, str]:
    """``{SMALLEST_TEXT_KEY: ..., DPI_KEY: ...}`` as text, for a drawn figure shown at ``dpi``."""
    smallest = smallest_text_pt(fig)
    return {SMALLEST_TEXT_KEY: "none" if smallest is None else f"{smallest:.4g}",
            DPI_KEY: f"{float(dpi):.6g}"}


def record_text_size(fig) -> None:
    """Make every PNG of ``fig`` carry its smallest text size and its dpi (a ``figure.hooks`` entry).

    The figure's PNG printer is wrapped: it hands matplotlib a metadata dict that a
    draw_event callback fills in, from the drawing matplotlib is about to save (the Agg
    canvas draws the figure, then writes the PNG with that metadata; the dpi is then the
    one of the saved image). Other formats are untouched, and so is a figure whose
    canvas has no PNG printer of its own.
    """
    canvas = fig.canvas
    print_png = getattr(canvas, "print_png", None)
    if print_png is None:  # a canvas that cannot write PNGs (matplotlib then switches canvas)
        return

    def print_png_with_text_size(filename_or_obj, *, metadata=None, pil_kwargs=None, **_):
        # the other keywords (dpi, colours, bbox_inches_restore) are already applied to
        # the figure by print_figure; the Agg printer takes none of them
        stamp = dict(metadata or {})
        cid = fig.canvas.mpl_connect("draw_event", lambda event: stamp.update(text_size_record(fig, fig.dpi)))
        try:
            return print_png(filename_or_obj, metadata=stamp, pil_kwargs=pil_kwargs)
        finally:
            fig.canvas.mpl_disconnect(cid)

    canvas.print_png = print_png_with_text_size
