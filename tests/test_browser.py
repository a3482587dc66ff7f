"""Every page of the built book, as a reader sees it: in a real browser, offline.

Headless Chromium (Debian's `chromium` package, driven by Playwright; the test never
downloads a browser) opens each page from a local HTTP server on 127.0.0.1 that the test
starts itself, in the light and in the dark theme. Any request for another host is
blocked and reported, so a page that would break offline fails here. On each page:

* no console error, no uncaught exception, no failed request, no HTTP error;
* MathJax has typeset every formula (each `.math` element holds an `mjx-container`, no
  `mjx-merror`) and no raw TeX (`$$`, `\\(`, `\\begin{...}`) is left in the visible text;
* every image has loaded, and every figure has a caption or a meaningful alt text;
* in the dark theme, no figure with a transparent background sits on the dark page;
* every <video> and <audio> plays: after play(), its clock advances and frames (or
  audio) are decoded;
* a full-page screenshot goes to _build/screenshots/{light,dark}/<page>.png (next to
  the site's html/ directory), to look at.

Two more checks: the book also reads from the file system (file://, no server, no
network), and its search page finds words offline.

Chromium: /usr/bin/chromium, or the path in NMF_CHROMIUM. If it is missing the test
fails and says how to install it (.ci/run installs it); set NMF_SKIP_BROWSER=1 to skip
these tests on purpose (the skip reason is printed in the summary).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from builtsite import REPO, SITE_ENV, pages, redirect_target, site_dir

pytestmark = pytest.mark.book

CHROMIUM = os.environ.get("NMF_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI and this machine run as root
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers (CI) often have a tiny /dev/shm
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 1280, "height": 900}
PLAY_SECONDS = 0.5  # a medium must play this long (or half of itself) within PLAY_TIMEOUT
PLAY_TIMEOUT_MS = 15_000


def _site_or_none() -> Path | None:
    site = Path(os.environ.get(SITE_ENV) or REPO / "_build" / "html")
    return site if (site / "index.html").is_file() else None


def _has_figures(site: Path, page: str) -> bool:
    html = (site / page).read_text(encoding="utf-8", errors="replace")
    return bool(re.search(r"<(img|video|audio|svg)\b", html.split("<article", 1)[-1]))


# Collected from the built site; without one a single case fails and says how to build it.
# Every page is checked in the light theme; pages with figures also in the dark theme
# (the rest of a page looks the same in both, and each visit takes a few seconds).
_SITE = _site_or_none()
CASES = (
    [(page, "light") for page in pages(_SITE)]
    + [(page, "dark") for page in pages(_SITE) if _has_figures(_SITE, page)]
    if _SITE
    else [("(no built book)", "light")]
)


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def site() -> Path:
    return site_dir()


@pytest.fixture(scope="session")
def server(site):
    """http://127.0.0.1:<free port>/ serving the site, for the whole session."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    if os.environ.get("NMF_SKIP_BROWSER") == "1":
        pytest.skip("NMF_SKIP_BROWSER=1: the book was NOT checked in a browser")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package (`apt-get update && "
            "apt-get install -y chromium`; .ci/run does this), or set NMF_CHROMIUM to a "
            "Chromium binary, or NMF_SKIP_BROWSER=1 to skip the browser tests knowingly",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives every run a fresh, temporary profile (user-data dir)
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(site) -> Path:
    out = site.parent / "screenshots"
    shutil.rmtree(out, ignore_errors=True)
    return out


class Visit:
    """A page opened in a fresh browser context, with everything that went wrong."""

    def __init__(self, browser, theme: str, allowed):
        self.problems: list[str] = []
        self.blocked: set[str] = set()
        self.context = browser.new_context(viewport=VIEWPORT, color_scheme=theme)
        if theme == "dark":  # what the theme's switch stores (pydata-sphinx-theme)
            self.context.add_init_script(
                "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"
            )
        self.context.route(lambda url: not allowed(url), self._block)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"uncaught exception: {exc}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _block(self, route):
        self.blocked.add(route.request.url)
        self.problems.append(f"request to another site (blocked): {route.request.url}")
        route.abort("blockedbyclient")

    def _console(self, message):
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            self.problems.append(f"console error: {message.text} {where}".rstrip())

    def _failed(self, request):
        if request.url not in self.blocked:
            self.problems.append(f"failed request: {request.url} ({request.failure})")

    def _response(self, response):
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def close(self):
        self.context.close()


# ------------------------------------------------------------------- in-page checks (JS)

SETTLE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  for (const img of document.images) { img.loading = 'eager'; }
  await Promise.all(Array.from(document.images, img => img.decode().catch(() => null)));
  await document.fonts.ready;
}"""

INSPECT = r"""() => {
  const content = document.querySelector('article.bd-article') || document.querySelector('main')
    || document.body;
  const short = s => (s || '').replace(/\s+/g, ' ').trim().slice(0, 80);
  // math
  const maths = Array.from(document.querySelectorAll('.math'));
  const untypeset = maths.filter(m => !m.querySelector('mjx-container')).map(m => short(m.textContent));
  const merrors = Array.from(document.querySelectorAll('mjx-merror')).map(e => short(e.textContent));
  // visible text outside code, scripts and typeset math
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, [hidden]';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement && !n.parentElement.closest(skip)
      ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT });
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode.textContent);
  // images
  const images = Array.from(document.images).map(img => {
    const figure = img.closest('figure');
    const caption = figure ? short((figure.querySelector('figcaption') || {}).textContent) : '';
    return {src: short(img.currentSrc || img.src), loaded: img.complete && img.naturalWidth > 0,
            alt: img.getAttribute('alt') || '', caption, inContent: content.contains(img),
            visible: img.getClientRects().length > 0};
  });
  // a player's name: aria-label, title, a figure caption, or a short label displayed just
  // before it in the same cell output (what the reader, and a screen reader, meet first)
  const media = Array.from(document.querySelectorAll('video, audio')).map(m => {
    const figure = m.closest('figure');
    let block = m;
    while (block.parentElement && !block.parentElement.classList.contains('cell_output')) {
      block = block.parentElement;
    }
    const before = block.parentElement ? block.previousElementSibling : null;
    const shown = before && !before.querySelector('video, audio, img') &&
      before.textContent.trim().length <= 200 ? before.textContent : '';
    return {tag: m.tagName.toLowerCase(),
            label: short(m.getAttribute('aria-label') || m.getAttribute('title') ||
                         (figure && (figure.querySelector('figcaption') || {}).textContent) ||
                         shown)};
  });
  return {nMath: maths.length, nMjx: document.querySelectorAll('mjx-container').length,
          untypeset, merrors, text: texts.join(' '), images, media,
          theme: document.documentElement.dataset.theme || ''};
}"""

# For one <img>: does it have transparent pixels, and what is painted behind it?
TRANSPARENCY = r"""(img) => {
  const canvas = document.createElement('canvas');
  const w = canvas.width = Math.min(img.naturalWidth, 400);
  const h = canvas.height = Math.min(img.naturalHeight, 400);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0, w, h);
  const data = ctx.getImageData(0, 0, w, h).data;
  let transparent = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] < 250) transparent++;
  // the first opaque background colour behind the image, walking up the tree
  let el = img, bg = null;
  while (el && el.nodeType === 1) {
    const c = getComputedStyle(el).backgroundColor.match(/[\d.]+/g).map(Number);
    if (c.length < 4 || c[3] > 0.99) { bg = c.slice(0, 3); break; }
    el = el.parentElement;
  }
  return {fraction: transparent / (w * h), background: bg};
}"""

PLAY = """async (m) => {
  m.muted = true; m.loop = true; m.pause(); m.currentTime = 0;
  const target = Math.min(%(seconds)s, (m.duration || 1) / 2);
  let error = null;
  try { await m.play(); } catch (e) { error = String(e); }
  const t0 = performance.now();
  while (!error && !m.error && m.currentTime < target && performance.now() - t0 < %(timeout)s) {
    await new Promise(r => setTimeout(r, 50));
  }
  const out = {time: m.currentTime, target, duration: m.duration, paused: m.paused,
               error: error || (m.error ? 'MediaError ' + m.error.code + ' ' + m.error.message : null),
               width: m.videoWidth || 0,
               decoded: m.tagName === 'VIDEO' ? (m.webkitDecodedFrameCount || 0)
                                              : (m.webkitAudioDecodedByteCount || 0)};
  m.pause();
  return out;
}""" % {"seconds": PLAY_SECONDS, "timeout": PLAY_TIMEOUT_MS}

RAW_TEX = [
    (re.compile(r"\$\$"), "$$"),
    (re.compile(r"\\[()\[\]]"), "\\( \\) \\[ \\]"),
    (re.compile(r"\\begin\{"), "\\begin{"),
    (re.compile(r"\$[^$\s][^$]{0,200}?[\\^_{][^$]{0,200}?\$"), "$...$ with TeX inside"),
]


def raw_tex(text: str) -> list[str]:
    found = []
    for pattern, name in RAW_TEX:
        match = pattern.search(text)
        if match:
            start = max(match.start() - 30, 0)
            found.append(f"raw TeX ({name}) in the text: ...{text[start:match.end() + 30]}...")
    return found


GENERIC_ALT = re.compile(r"^(\s*|.*\.(png|jpe?g|gif|svg|webp)|<.*>|image|figure|plot|img)$", re.I)


def meaningful(alt: str) -> bool:
    """An alt text that describes something: not empty, not a file name, not a repr."""
    return not GENERIC_ALT.match(alt.strip()) and len(alt.split()) >= 2


def light_background(rgb) -> bool:
    if rgb is None:
        return False
    r, g, b = (c / 255 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b >= 0.6


def open_page(browser, server, page_path: str, theme: str, lands_on: str | None = None):
    """Open a page (for a redirect page: wait until it has landed on `lands_on`)."""
    host = urlsplit(server).netloc

    def allowed(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("data", "blob", "about") or parts.netloc == host

    visit = Visit(browser, theme, allowed)
    visit.page.goto(server + page_path, wait_until="load")
    if lands_on is not None:
        visit.page.wait_for_url(server + lands_on, wait_until="load", timeout=10_000)
    visit.page.evaluate(SETTLE)
    visit.page.wait_for_load_state("networkidle")
    return visit


# ------------------------------------------------------------------------------- tests

@pytest.mark.parametrize(("page_path", "theme"), CASES)
def test_page_in_browser(site, server, browser, screenshots, page_path, theme):
    # the root index.html redirects: it must land on the book's first page
    visit = open_page(browser, server, page_path, theme, redirect_target(site, page_path))
    try:
        page, problems = visit.page, visit.problems
        info = page.evaluate(INSPECT)

        assert info["theme"] == theme, f"{page_path}: the page shows the {info['theme']!r} theme"
        problems += [f"math not typeset: {m}" for m in info["untypeset"]]
        problems += [f"MathJax error: {m}" for m in info["merrors"]]
        if info["nMath"] and not info["nMjx"]:
            problems.append("the page has math but MathJax produced no output")
        problems += raw_tex(info["text"])

        for img in info["images"]:
            if not img["loaded"] and (img["visible"] or img["inContent"]):
                problems.append(f"image did not load: {img['src']}")
            if img["inContent"] and not img["caption"] and not meaningful(img["alt"]):
                problems.append(
                    f"figure without caption or meaningful alt text (alt={img['alt'][:60]!r}): "
                    f"{img['src']}"
                )
        for medium in info["media"]:
            if not medium["label"]:
                problems.append(
                    f"<{medium['tag']}> without a name: give its cell a figure caption "
                    "(metadata mystnb.figure.caption), display a short label just before it, "
                    "or give it an aria-label"
                )

        if theme == "dark":
            for handle in page.query_selector_all("article img, main img"):
                if not handle.evaluate("img => img.complete && img.naturalWidth > 0"):
                    continue
                seen = handle.evaluate(TRANSPARENCY)
                if seen["fraction"] > 0.01 and not light_background(seen["background"]):
                    problems.append(
                        f"figure with a transparent background ({seen['fraction']:.0%} of it) on "
                        f"the dark page (behind it: rgb{tuple(seen['background'] or ())}): "
                        f"{handle.get_attribute('src')[:80]}"
                    )

        for handle in page.query_selector_all("video, audio"):
            played = handle.evaluate(PLAY)
            name = handle.evaluate("m => m.tagName.toLowerCase()")
            if played["error"] or played["time"] < played["target"] or not played["decoded"]:
                problems.append(f"<{name}> does not play: {played}")
            elif name == "video" and not played["width"]:
                problems.append(f"<video> has no picture: {played}")

        shot = screenshots / theme / Path(page_path).with_suffix(".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(shot), full_page=True, animations="disabled")

        assert not problems, f"{page_path} ({theme} theme):\n  " + "\n  ".join(problems)
    finally:
        visit.close()


def _page_with_most_math(site: Path) -> str:
    counts = {
        page: (site / page).read_text(encoding="utf-8", errors="replace").count('class="math')
        for page in pages(site)
    }
    return max(counts, key=counts.get)


def test_book_reads_from_the_file_system_without_network(site, browser):
    """Opened as file://, with every network request blocked, math and figures render."""
    page_path = _page_with_most_math(site)
    context = browser.new_context(viewport=VIEWPORT)
    problems: list[str] = []

    def block(route):
        problems.append(f"network request: {route.request.url}")
        route.abort("internetdisconnected")

    context.route(lambda url: urlsplit(url).scheme in ("http", "https", "ws", "wss"), block)
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"uncaught exception: {exc}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    try:
        page.goto((site / page_path).resolve().as_uri(), wait_until="load")
        page.evaluate(SETTLE)
        info = page.evaluate(INSPECT)
        assert info["nMath"] and info["nMjx"], f"{page_path} via file://: no typeset math"
        problems += [f"math not typeset: {m}" for m in info["untypeset"]]
        problems += [f"image did not load: {i['src']}" for i in info["images"]
                     if i["inContent"] and not i["loaded"]]
        assert not problems, f"{page_path} via file://:\n  " + "\n  ".join(problems)
    finally:
        context.close()


def test_search_works_offline(site, server, browser):
    """The search page finds a word of the book's title, from the site's own index."""
    if not (site / "search.html").is_file():
        pytest.fail("the site has no search.html")
    index = (site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(index[index.index("(") + 1 : index.rindex(")")])
    titles = re.sub(r"<[^>]*>", " ", " ".join(index["titles"]))  # titles hold markup
    words = re.findall(r"[A-Za-z]{6,}", titles)
    assert words, "searchindex.js holds no page titles"
    word = words[0].lower()
    visit = open_page(browser, server, f"search.html?q={word}", "light")
    try:
        visit.page.wait_for_selector("#search-results ul.search li", timeout=15_000)
        hits = visit.page.locator("#search-results ul.search li").count()
        assert hits >= 1, f"searching {word!r} found nothing"
        assert not visit.problems, "search page:\n  " + "\n  ".join(visit.problems)
    finally:
        visit.close()


def test_detectors_of_raw_tex_and_bare_figures():
    """The text checks above flag what they should, and only that."""
    assert raw_tex("the loss $$ \\frac{1}{mn} $$ is") and raw_tex("with \\(x\\) here")
    assert raw_tex("a $W_{ik}$ left raw") and raw_tex("\\begin{align} x \\end{align}")
    assert not raw_tex("it costs 5 dollars and $3 more; W V has 4 columns")
    assert not meaningful("../_images/9f2c.png") and not meaningful("<Figure size 640x480>")
    assert not meaningful("") and not meaningful("plot")
    assert meaningful("Learned basis vectors over the true Gaussians")
    assert light_background((206, 214, 221)) and not light_background((18, 18, 18))


def test_math_accessibility_works_offline(site, server, browser):
    """MathJax's accessibility options (context menu > Accessibility > Activate) load their
    parts (MathML input, speech rule engine, English speech maps, explorer) from the site."""
    visit = open_page(browser, server, _page_with_most_math(site), "light")
    try:
        loaded = visit.page.evaluate("""async () => {
          MathJax.startup.document.menu.menu.findID('Accessibility', 'Activate')
            .variable.setValue(true);
          const t0 = performance.now();
          while (!(MathJax._.a11y && MathJax._.a11y.explorer) && performance.now() - t0 < 20000) {
            await new Promise(r => setTimeout(r, 100));
          }
          return Object.keys(MathJax._.a11y || {});
        }""")
        visit.page.wait_for_load_state("networkidle")
        assert "explorer" in loaded, f"the MathJax explorer did not load: {loaded}"
        assert not visit.problems, "accessibility:\n  " + "\n  ".join(visit.problems)
    finally:
        visit.close()
