"""Make the built book self-contained and accessible: it reads offline, from a server or
from disk, and its generated markup passes axe-core.

1. MathJax 3 is served from the site itself. Sphinx's default ``mathjax_path`` is a CDN
   address, so a reader without a network connection (or behind a strict proxy) would
   see raw LaTeX. ``mathjax_path`` is pointed at ``_static/mathjax/tex-chtml.js``, and
   MathJax is copied there from the pinned PyPI package ``sphinx-mathjax-offline``
   (MathJax 3.2.2, see pyproject.toml): ``make book`` needs nothing but PyPI.

   That package's own extension copies all 24 MB of MathJax into every build. Only what
   a TeX-to-HTML page can request is copied here (about 7 MB, fetched lazily by the
   reader's browser, so a page itself stays light):

   * ``tex-chtml.js``: TeX input, CommonHTML output and the context menu, in one file;
   * ``input/tex/extensions/``: TeX packages that ``autoload`` fetches on first use
     (``\\color``, ``\\boldsymbol``, ``\\cancel`` ...);
   * ``output/chtml/fonts/woff-v2/``: the math fonts;
   * ``ui/``, ``a11y/``, ``sre/``, ``input/mml*``: what the context menu loads for its
     accessibility options (explorer, speech in every locale MathJax ships).

2. Thebe's assets are left out. Jupyter Book always loads sphinx-thebe, which adds to
   every page a script naming a CDN copy of thebe and, since it registers its assets
   twice, declares the same ``const`` twice: every notebook page threw a SyntaxError.
   The book runs no live kernels (``launch_buttons.thebe: false``: they need a remote
   server), so its scripts and style sheet are dropped from the pages.

3. The bibliography is a list of list items. docutils (0.21) writes each citation as
   ``<div role="doc-biblioentry">`` inside ``<div role="list">``. ``doc-biblioentry`` is
   deprecated in DPUB-ARIA 1.1 and not allowed on a div, and assistive technology that
   drops it sees a list whose children are links (the backlinks), not items: axe-core's
   critical ``aria-required-children`` and its minor ``aria-deprecated-role`` and
   ``aria-allowed-role``. The citations are written with ``role="listitem"`` instead
   (what DPUB-ARIA 1.1 says to use), everything else as docutils writes it.

The browser test (tests/test_browser.py) fails on any request that leaves the site, is
not found, or any script error, so a missing piece shows up there; and it runs axe-core
on every page.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from docutils import nodes

SOURCE_DISTRIBUTION = "sphinx-mathjax-offline"
SOURCE_DIR = "sphinx-mathjax-offline/static/mathjax"
ENTRY = "tex-chtml.js"
SUBSET = (
    ENTRY,
    "input/tex/extensions",
    "output/chtml/fonts/woff-v2",
    "input/mml.js",  # the accessibility options parse MathML
    "input/mml",
    "ui",
    "a11y",
    "sre",
)
TARGET = "mathjax"  # under _static/


def mathjax_source() -> Path:
    """Directory of the MathJax 3 files installed by the pinned PyPI package."""
    try:
        dist = metadata.distribution(SOURCE_DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise RuntimeError(
            f"{SOURCE_DISTRIBUTION} is not installed; it provides the MathJax files the "
            "book serves itself (pip install -e '.[book]')"
        ) from exc
    source = Path(str(dist.locate_file(SOURCE_DIR)))
    if not (source / ENTRY).is_file():
        raise RuntimeError(f"{SOURCE_DISTRIBUTION} has no {SOURCE_DIR}/{ENTRY}")
    return source


def _use_local_mathjax(app, config) -> None:
    mathjax_source()  # fail early, before notebooks are executed
    config.mathjax_path = f"{TARGET}/{ENTRY}"  # relative: Sphinx resolves it under _static/


def _copy_mathjax(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / TARGET
    for item in SUBSET:
        src, dst = source / item, target / item
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def _is_thebe(asset) -> bool:
    name = str(getattr(asset, "filename", None) or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "sphinx-thebe" in name or "THEBE_JS_URL" in body


def _drop_thebe(app, pagename, templatename, context, doctree) -> None:
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def _visit_citation(self, node) -> None:
    """docutils' HTML5 visit_citation, with role="listitem" for "doc-biblioentry"."""
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def _depart_citation(self, node) -> None:
    self.body.append("</div>\n")
    if not isinstance(node.next_node(descend=False, siblings=True), type(node)):
        self.body.append("</div>\n")


def setup(app):
    app.setup_extension("sphinx.ext.mathjax")
    # after jupyter-book / myst have set their configuration values
    app.connect("config-inited", _use_local_mathjax, priority=900)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _drop_thebe, priority=900)
    # whatever translator class the theme sets, these replace its citation handlers
    app.add_node(nodes.citation, override=True, html=(_visit_citation, _depart_citation))
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
