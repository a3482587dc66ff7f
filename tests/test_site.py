"""The built book (`_build/html`) is complete, self-contained and light.

* every document of _toc.yml has its page;
* no page makes the reader's browser load a script, style sheet, font, image or video
  from another site (links a reader may click are fine): the book reads offline;
* every page weighs at most PAGE_BUDGET: its HTML (with the figures and videos embedded
  in it) plus the images and media files of its own that it loads. The theme's scripts,
  style sheets and MathJax under _static/ are shared by every page and cached after the
  first one, so they are not part of a page's weight (every file they load must exist,
  though); they count in the whole site, which weighs at most SITE_BUDGET.

Run on the site `make test` builds first, or the one named by NMF_BOOK_HTML.
The browser test (test_browser.py) checks the same pages in a real browser.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from builtsite import REPO, pages, redirect_target, site_dir, toc_documents

pytestmark = pytest.mark.book

MB = 1_000_000
PAGE_BUDGET = 5 * MB
SITE_BUDGET = 40 * MB

# Attributes whose URL the browser fetches by itself when the page loads.
LOADED = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
# <link rel=...> values that make the browser fetch href
LOADED_LINK_RELS = {
    "stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload",
    "manifest", "mask-icon",
}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


def is_external(url: str) -> bool:
    return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url.strip(), re.I)) and not url.strip(
    ).lower().startswith("file:")


class ResourceParser(HTMLParser):
    """Collects the URLs a page loads on its own (not the links a reader may follow)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str]] = []  # (where, url)
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        for name in LOADED.get(tag, ()):
            if attrs.get(name):
                values = attrs[name].split(",") if name == "srcset" else [attrs[name]]
                for value in values:
                    if value.strip():
                        self.urls.append((f"<{tag} {name}>", value.strip().split()[0]))
        if tag == "link" and set(attrs.get("rel", "").lower().split()) & LOADED_LINK_RELS:
            self.urls.append((f"<link rel={attrs['rel']}>", attrs.get("href", "")))
        if "style" in attrs:
            self._css(f"<{tag} style>", attrs["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css("<style>", data)

    def _css(self, where, text):
        for match in CSS_URL.finditer(text):
            self.urls.append((where, match.group(1) or match.group(2)))


def loaded_urls(site: Path, page: str) -> list[tuple[str, str]]:
    parser = ResourceParser()
    parser.feed((site / page).read_text(encoding="utf-8", errors="replace"))
    return parser.urls


def local_file(site: Path, page: str, url: str) -> Path | None:
    """The file a relative URL of `page` points to, or None for data: and similar URLs."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = unquote(parts.path)
    base = site if path.startswith("/") else (site / page).parent
    return (base / path.lstrip("/")).resolve()


@pytest.fixture(scope="module")
def site():
    return site_dir()


@pytest.fixture(scope="module")
def all_pages(site):
    found = pages(site)
    assert found, f"no HTML pages under {site}"
    return found


def test_every_toc_document_has_a_page(site):
    missing = [doc for doc in toc_documents(site) if not (site / f"{doc}.html").is_file()]
    assert not missing, f"documents of _toc.yml without a page in {site}: {missing}"


def test_redirects_lead_to_pages(site, all_pages):
    for page in all_pages:
        target = redirect_target(site, page)
        if target is not None:
            assert (site / target).is_file(), f"{page} redirects to missing {target}"


def test_no_page_loads_anything_from_another_site(site, all_pages):
    offenders = [
        f"{page}: {where} {url}"
        for page in all_pages
        for where, url in loaded_urls(site, page)
        if is_external(url)
    ]
    assert not offenders, (
        "pages load resources from outside the site, so they break offline "
        "(serve them from _static/; for animations use to_html5_video, not to_jshtml):\n"
        + "\n".join(offenders)
    )


def test_no_style_sheet_loads_anything_from_another_site(site):
    offenders = []
    for css in sorted(site.rglob("*.css")):
        text = css.read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments may cite URLs
        for match in CSS_URL.finditer(text):
            url = match.group(1) or match.group(2)
            if is_external(url):
                offenders.append(f"{css.relative_to(site)}: {url}")
    assert not offenders, "style sheets fetch from outside the site:\n" + "\n".join(offenders)


def page_weight(site: Path, page: str) -> tuple[int, int, list[str]]:
    """Bytes of `page` itself (HTML and its own media), of the shared _static/ files it
    loads when opened, and the loaded files that are missing."""
    own, shared = (site / page).stat().st_size, 0
    static = (site / "_static").resolve()
    seen, missing = set(), []
    for where, url in loaded_urls(site, page):
        path = local_file(site, page, url)
        if path is None or path in seen:
            continue
        seen.add(path)
        if not path.is_file():
            missing.append(f"{where} {url}")
        elif path.is_relative_to(static):
            shared += path.stat().st_size
        else:
            own += path.stat().st_size
    return own, shared, missing


def test_every_page_is_light(site, all_pages):
    weights = {}
    for page in all_pages:
        weight, _, missing = page_weight(site, page)
        assert not missing, f"{page} loads files that are not in the site: {missing}"
        weights[page] = weight
    heavy = {page: w for page, w in weights.items() if w > PAGE_BUDGET}
    assert not heavy, "pages over the {:.0f} MB budget: {}".format(
        PAGE_BUDGET / MB, {page: f"{w / MB:.2f} MB" for page, w in heavy.items()}
    )


def test_the_whole_site_is_light(site):
    files = [path for path in site.rglob("*") if path.is_file()]
    total = sum(path.stat().st_size for path in files)
    biggest = sorted(files, key=lambda path: path.stat().st_size, reverse=True)[:5]
    assert total <= SITE_BUDGET, "the site weighs {:.1f} MB > {:.0f} MB; largest: {}".format(
        total / MB,
        SITE_BUDGET / MB,
        [f"{p.relative_to(site)} {p.stat().st_size / MB:.2f} MB" for p in biggest],
    )


def test_page_weight_counts_what_a_page_loads(tmp_path):
    """The weight and the external-resource scan see scripts, styles, media and CSS urls."""
    (tmp_path / "_static").mkdir()
    (tmp_path / "_images").mkdir()
    (tmp_path / "_static" / "a.js").write_bytes(b"x" * 1000)
    (tmp_path / "_static" / "a.css").write_bytes(b"y" * 300)
    (tmp_path / "_images" / "fig.png").write_bytes(b"z" * 50)
    (tmp_path / "index.html").write_text(
        '<html><head><script src="_static/a.js?v=1"></script>'
        '<link rel="stylesheet" href="_static/a.css"><link rel="next" href="far.html">'
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<style>@font-face{src:url("//fonts.example/f.woff2")}</style></head>'
        '<body><img src="data:image/png;base64,AAAA"><video src="missing.mp4"></video>'
        '<img src="_images/fig.png" alt="a figure"><img src="./_images/fig.png">'
        '<a href="https://example.org/">a link, not loaded</a></body></html>'
    )
    own, shared, missing = page_weight(tmp_path, "index.html")
    assert own == (tmp_path / "index.html").stat().st_size + 50
    assert shared == 1300
    assert missing == ["<video src> missing.mp4"]
    external = [url for _, url in loaded_urls(tmp_path, "index.html") if is_external(url)]
    assert external == ["https://cdn.example/x.css", "//fonts.example/f.woff2"]


DOWNLOAD = re.compile(r'href="([^"]*_sources/[^"]+\.ipynb)"')


def test_downloaded_chapters_keep_their_setup_cell(site, all_pages):
    """The download button serves each chapter's .ipynb with the setup cell first (it
    says what to install where nmf_lib is missing), while the page itself hides it."""
    chapters = [page for page in all_pages if (REPO / page).with_suffix(".ipynb").is_file()]
    assert chapters, "no chapter pages found"
    for page in chapters:
        html = (site / page).read_text(encoding="utf-8")
        links = set(DOWNLOAD.findall(html))
        assert len(links) == 1, f"{page}: download links to notebooks: {links}"
        served = json.loads(local_file(site, page, links.pop()).read_text(encoding="utf-8"))
        stored = json.loads((REPO / page).with_suffix(".ipynb").read_text(encoding="utf-8"))

        def setup(nb):
            return "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])

        assert setup(served) == setup(stored), f"{page}: the downloaded notebook lost its setup cell"
        assert "this chapter needs" in setup(stored)
        assert "this chapter needs" not in html, f"{page} shows the setup cell"
