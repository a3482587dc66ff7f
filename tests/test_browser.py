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
  audio) are decoded; and it works from the keyboard (in the tab order, with the
  browser's controls, Space plays and pauses it);
* a full-page screenshot goes to _build/screenshots/{light,dark}/<page>.png (next to
  the site's html/ directory), to look at;
* with every folded part unfolded (code cells in <details>, solutions), axe-core finds
  no critical or serious accessibility violation (moderate and minor ones are reported
  as warnings); axe-core is the copy that the PyPI package axe-playwright-python ships,
  put into the page by the test, so nothing is fetched;
* every figure is legible as displayed (see `figure_text_problems`).

Next to each screenshot, <page>.json records axe-core's violations by impact and the
smallest text of every figure in CSS pixels.

Two more checks: the book also reads from the file system (file://, no server, no
network), and its search page finds words offline.

Chromium: /usr/bin/chromium, or the path in NMF_CHROMIUM. If it is missing the test
fails and says how to install it (.ci/run installs it); set NMF_SKIP_BROWSER=1 to skip
these tests on purpose (the skip reason is printed in the summary).
"""

from __future__ import annotations

import base64
import functools
import http.server
import io
import json
import os
import re
import shutil
import threading
import warnings
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from builtsite import REPO, SITE_ENV, pages, redirect_target, site_dir
from nmf_lib.legibility import DPI_KEY, SMALLEST_TEXT_KEY, css_px

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
MIN_TEXT_PX = 9.0  # the smallest legible text in a figure, in CSS pixels as displayed
FAILING_IMPACTS = ("critical", "serious")  # axe-core impacts that fail the test


def _site_or_none() -> Path | None:
    site = Path(os.environ.get(SITE_ENV) or REPO / "_build" / "html")
    return site if (site / "index.html").is_file() else None


# Collected from the built site; without one a single case fails and says how to build it.
# Every page is checked in the light and in the dark theme (colours, and so contrast,
# differ between them).
_SITE = _site_or_none()
CASES = (
    [(page, theme) for theme in ("light", "dark") for page in pages(_SITE)]
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
def axe_script() -> Path:
    """axe.min.js as the PyPI package axe-playwright-python ships it (see pyproject.toml)."""
    try:
        script = resources.files("axe_playwright_python") / "axe.min.js"
    except ModuleNotFoundError:
        pytest.fail("axe-playwright-python is not installed (pip install -e '.[test]'); it "
                    "ships the axe-core the accessibility check runs", pytrace=False)
    if not script.is_file():
        pytest.fail(f"axe-playwright-python ships no axe.min.js at {script}", pytrace=False)
    return Path(str(script))


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

# Unfold what the reader can unfold: code cells folded in <details>, and the admonitions
# (solutions) that sphinx-togglebutton folds, by their own button.
UNFOLD = """async () => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  for (const item of document.querySelectorAll('.toggle.toggle-hidden')) {
    const button = item.querySelector('.toggle-button');
    if (button) button.click();
  }
  await new Promise(r => setTimeout(r, 100));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return document.querySelectorAll('.toggle.toggle-hidden').length;
}"""

# Every <img> and <video> of the page's content: its width in its own pixels and as displayed
# (CSS pixels); a video's recorded text size and dpi (html_video's data- attributes).
FIGURES = """async () => {
  const content = document.querySelector('article.bd-article') || document.querySelector('main')
    || document.body;
  const out = [];
  for (const el of content.querySelectorAll('img, video')) {
    const video = el.tagName === 'VIDEO';
    if (video && el.readyState < 1) {
      await Promise.race([new Promise(r => el.addEventListener('loadedmetadata', r, {once: true})),
                          new Promise(r => setTimeout(r, 10000))]);
    }
    out.push({tag: el.tagName.toLowerCase(), src: video ? '' : (el.currentSrc || el.src),
              natural: video ? el.videoWidth : el.naturalWidth,
              displayed: el.getBoundingClientRect().width,
              pt: el.dataset.smallestTextPt || null, dpi: el.dataset.dpi || null,
              name: (el.getAttribute('alt') || el.getAttribute('aria-label') || '').slice(0, 70)});
  }
  return out;
}"""

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


def keyboard_problems(page, handle, name: str) -> list[str]:
    """A player works from the keyboard: it has the browser's controls, is in the tab
    order, and Space on it plays and pauses it."""
    state = handle.evaluate("m => { m.muted = true; m.pause(); m.focus(); return "
                            "{controls: m.controls, tabIndex: m.tabIndex, "
                            "focused: document.activeElement === m}; }")
    if not (state["controls"] and state["tabIndex"] >= 0 and state["focused"]):
        return [f"<{name}> cannot be reached with the keyboard (controls, tab order): {state}"]
    toggled = []
    for _ in range(2):
        page.keyboard.press("Space")
        page.wait_for_timeout(300)
        toggled.append(handle.evaluate("m => m.paused"))
    handle.evaluate("m => m.pause()")
    if toggled != [False, True]:
        return [f"<{name}>: Space did not play then pause it (paused after each press: {toggled})"]
    return []


def png_text(site: Path, src: str) -> dict:
    """The PNG text chunks and the width of an image: a file of the site, or a data: URI."""
    from PIL import Image  # matplotlib's own dependency

    if src.startswith("data:"):
        data = base64.b64decode(src.split(",", 1)[1])
    else:
        data = (site / unquote(urlsplit(src).path).lstrip("/")).read_bytes()
    image = Image.open(io.BytesIO(data))
    return {**getattr(image, "text", {}), "width": image.width}


def figure_text_problems(site: Path, figures: list[dict]) -> tuple[list[str], list[dict]]:
    """Every figure shown must be legible as displayed: its smallest text at least
    MIN_TEXT_PX CSS pixels high at the width at which the page shows it.

    Method. The smallest font size of a figure (points) and the dpi it was drawn at are
    recorded when the book is built, from the figure itself: matplotlib's figure hook in
    book/matplotlibrc writes them into every PNG as text chunks, measured on the drawing
    that is saved (nmf_lib/legibility.py: every visible, non-empty text, tick labels
    included, mathtext scripts at the size they are drawn); html_video writes them on the
    <video>. The browser reports the width at which the page displays the image, in CSS
    pixels; its width in its own pixels comes from the PNG file (or the video's frames).
    The text is then size_pt * dpi / 72 * displayed / own width CSS pixels high (the
    font's em size, as CSS font-size measures text). The window is VIEWPORT wide (the text
    column is then about 670 px); narrower windows shrink every figure alike. A figure
    shown without a recorded size fails too, so none escapes the check.
    """
    problems, records = [], []
    for fig in figures:
        if fig["displayed"] <= 0:  # not shown (after unfolding everything): nothing to read
            continue
        what = fig["name"] or fig["src"][-60:]
        if fig["tag"] == "img":
            chunks = png_text(site, fig["src"]) if fig["src"] else {}
            pt, dpi, own = chunks.get(SMALLEST_TEXT_KEY), chunks.get(DPI_KEY), chunks.get("width")
        else:
            pt, dpi, own = fig["pt"], fig["dpi"], fig["natural"]
        record = {"figure": what, "tag": fig["tag"], "smallest_text_pt": pt, "dpi": dpi,
                  "own_px": own, "displayed_px": round(fig["displayed"], 1), "text_px": None}
        records.append(record)
        if pt is None or dpi is None or not own:
            problems.append(
                f"<{fig['tag']}> without a recorded text size ({SMALLEST_TEXT_KEY}, {DPI_KEY}): "
                f"draw figures with pyplot in a chapter (book/matplotlibrc records them) and "
                f"videos with nmf_lib.html_video (a book executed before they were recorded: "
                f"`make book` re-executes it, book/matplotlibrc being an execution input): {what}")
            continue
        if pt == "none":  # a figure without text
            continue
        px = record["text_px"] = round(css_px(float(pt), float(dpi), float(own), fig["displayed"]), 2)
        if px < MIN_TEXT_PX:
            problems.append(
                f"illegible figure: its smallest text ({pt} pt at {dpi} dpi) is {px:.1f} CSS px "
                f"high as displayed (an image {own} px wide shown {fig['displayed']:.0f} px wide); "
                f"it needs {MIN_TEXT_PX:g} px: a smaller figsize, larger fonts or a wider "
                f"display: {what}")
    return problems, records


def run_axe(page, axe_script: Path) -> list[dict]:
    """axe-core's violations on the page as it is now, each with its elements.

    preload: false. axe-core otherwise fetches the page's style sheets again to build a
    CSS object model, and resolves the theme's `@import "../basic.css"` (in
    _static/styles/theme.css) against the page instead of the style sheet: a request for
    a file that does not exist (the browser itself loads the right one). Only the rule
    css-orientation-lock uses that model; the book sets no orientation.
    """
    page.add_script_tag(path=str(axe_script))
    return page.evaluate("async () => (await axe.run(document, "
                         "{resultTypes: ['violations'], preload: false})).violations")


def axe_problems(violations: list[dict], where: str) -> tuple[list[str], dict[str, int]]:
    """Failures for critical and serious violations (rule, elements); warnings for the rest;
    and the number of elements at each impact."""
    problems, counts = [], {impact: 0 for impact in ("critical", "serious", "moderate", "minor")}
    for rule in violations:
        impact, nodes = rule.get("impact") or "minor", rule["nodes"]
        counts[impact] = counts.get(impact, 0) + len(nodes)
        elements = "; ".join(
            f"{' '.join(map(str, node['target']))} {node['html'][:90]!r}" for node in nodes[:4])
        more = f" and {len(nodes) - 4} more" if len(nodes) > 4 else ""
        text = (f"axe-core {impact} '{rule['id']}' ({rule['help']}; {rule['helpUrl'].split('?')[0]}) "
                f"on {len(nodes)} element(s): {elements}{more}")
        if impact in FAILING_IMPACTS:
            problems.append(text)
        else:
            warnings.warn(f"{where}: {text}", stacklevel=2)
    return problems, counts


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
def test_page_in_browser(site, server, browser, screenshots, axe_script, page_path, theme):
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
            problems += keyboard_problems(page, handle, name)

        shot = screenshots / theme / Path(page_path).with_suffix(".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(shot), full_page=True, animations="disabled")

        # accessibility and legibility of everything the reader can unfold
        still_folded = page.evaluate(UNFOLD)
        if still_folded:
            problems.append(f"{still_folded} folded admonition(s) did not unfold on a click")
        legibility, figures = figure_text_problems(site, page.evaluate(FIGURES))
        problems += legibility
        axe_failures, counts = axe_problems(run_axe(page, axe_script), f"{page_path} ({theme})")
        problems += axe_failures
        shot.with_suffix(".json").write_text(json.dumps(
            {"page": page_path, "theme": theme, "axe_elements_by_impact": counts,
             "smallest_text_px": min((f["text_px"] for f in figures if f["text_px"]), default=None),
             "figures": figures}, indent=1), encoding="utf-8")

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


def _figure_png(width_in: float, fontsize: float) -> str:
    """A PNG data: URI of a pyplot figure drawn under the book's figure hook."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"figure.hooks": ["nmf_lib.legibility:record_text_size"]}):
        fig, ax = plt.subplots(figsize=(width_in, 2.5), dpi=100)
    ax.plot([0, 1], [1, 0])
    ax.tick_params(labelsize=fontsize)
    ax.set_title("a title", fontsize=fontsize + 2)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_accessibility_and_legibility_checks_flag_what_they_should(browser, axe_script):
    """On a page made to fail, axe-core's critical and serious violations become failures
    (naming rule and element), and the figure check flags the figure with small text."""
    small = _figure_png(13, 8)  # 8 pt in a 1300 px image shown 670 px wide: 5.7 CSS px
    fine = _figure_png(6.5, 9)  # 9 pt in a 650 px image shown 650 px wide: 12.5 CSS px
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_content(f"""<!DOCTYPE html><html lang="en"><head><title>test page</title></head>
          <body><main><article class="bd-article"><h1>test page</h1>
          <p style="color: #aaaaaa; background: #ffffff">grey on white, 2.3:1</p>
          <button id="unnamed"></button>
          <img src="{small}" alt="a wide figure with small text" style="width: 670px">
          <img src="{fine}" alt="a narrow figure with larger text">
          <img src="{fine}" alt="a figure not shown" style="display: none">
          </article></main></body></html>""")
        failures, counts = axe_problems(run_axe(page, axe_script), "test page")
        assert any("serious 'color-contrast'" in f and "grey on white" in f for f in failures)
        assert any("critical 'button-name'" in f and "#unnamed" in f for f in failures)
        assert counts["critical"] >= 1 and counts["serious"] >= 1
        problems, records = figure_text_problems(Path("."), page.evaluate(FIGURES))
        assert len(records) == 2
        assert len(problems) == 1 and "illegible figure" in problems[0], problems
        assert "a wide figure with small text" in problems[0]
        assert records[0]["text_px"] == pytest.approx(8 * 100 / 72 * 670 / 1300, abs=0.01)
        assert records[1]["text_px"] == pytest.approx(9 * 100 / 72, abs=0.01)
    finally:
        context.close()


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
