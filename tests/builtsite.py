"""Where the built book is and which pages it has; shared by test_site.py and test_browser.py.

The site is `_build/html` next to this repository's `_config.yml` (what `make book` and
`make test` build), or the directory named by the environment variable NMF_BOOK_HTML
(e.g. a development build made with `jupyter-book build . --path-output /tmp/x`).

Without a built book the site and browser tests are skipped, with the command that builds
it, so that `pytest tests` on a fresh clone runs the library's tests alone. `make test`
sets NMF_FULL_TEST=1 (see `require`): there a missing book is a failure, never a skip.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SITE_ENV = "NMF_BOOK_HTML"
FULL_ENV = "NMF_FULL_TEST"

# Pages that Sphinx writes for the theme's own use, not for readers.
_NOT_PAGES = ("_static/", "_sources/", "_images/")

REFRESH = re.compile(
    r"""<meta\s+http-equiv=["']refresh["']\s+content=["'][^"']*url=([^"']+)["']""", re.I
)


def require(missing: str) -> None:
    """Skip a test for want of something it needs, or fail under `make test`.

    `make test` exports NMF_FULL_TEST=1: it promises every test, so there nothing that a
    test needs may be missing.
    """
    if os.environ.get(FULL_ENV) == "1":
        pytest.fail(f"{missing} ({FULL_ENV}=1: every test must run)", pytrace=False)
    pytest.skip(missing)


def site_dir() -> Path:
    """The built site; without one, skips (fails under `make test`) saying how to build it."""
    site = Path(os.environ.get(SITE_ENV) or REPO / "_build" / "html")
    if not (site / "index.html").is_file():
        require(
            f"no built book at {site}: run `make book` to build it (`make test` builds it "
            f"and runs every test), or point {SITE_ENV} at a built _build/html"
        )
    return site


def pages(site: Path) -> list[str]:
    """Every HTML page of the site, as a path relative to the site root ('book/x.html')."""
    found = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if not rel.startswith(_NOT_PAGES):
            found.append(rel)
    return found


def redirect_target(site: Path, page: str) -> str | None:
    """For a meta-refresh page (the root index.html), the page it sends readers to."""
    match = REFRESH.search((site / page).read_text(encoding="utf-8", errors="replace"))
    if not match:
        return None
    return (Path(page).parent / match.group(1).split("#")[0]).as_posix()


def toc_documents(site: Path) -> list[str]:
    """Every document named in the book's _toc.yml (root, chapters, sections), no suffix.

    The _toc.yml is the one of the book the site was built from (<book>/_build/html),
    or this repository's for a build made elsewhere with --path-output.
    """
    toc_file = site.parent.parent / "_toc.yml"
    if not toc_file.is_file():
        toc_file = REPO / "_toc.yml"
    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    docs = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                docs.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)

    walk(toc)
    return [re.sub(r"\.(md|ipynb)$", "", doc) for doc in docs]
