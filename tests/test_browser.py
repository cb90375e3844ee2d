"""The built book in a real headless browser, in light and in dark mode: every page of both editions loads only
its own files, runs without a script error, typesets its equations, draws its interactive figures (each a
div.tl-interactive) and follows the reader's system colour scheme; the button between the editions works.

Playwright drives the system's Chromium (or Chrome); nothing is downloaded. Without a browser these tests are
skipped and the reason says how to install one; with TRANSFORMER_LAB_REQUIRE_BROWSER=1 (CI) they fail instead.
`open_page(name, scheme)` returns a loaded page that has passed those checks, for tests that drive a page: the
three interactive figures are hovered, clicked and slid, on the book's pages (in each edition's language) and
in JupyterLab.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
import torch

import transformer_lab as tl

from conftest import toc_files

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # the suite runs without it: the tests below skip
    sync_playwright = None

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = (
    "install a browser: `apt-get install chromium` (Debian, Ubuntu); on macOS Google Chrome or "
    "`brew install --cask chromium`, with TRANSFORMER_LAB_BROWSER=<path to its executable>; "
    "or Playwright's own: `python -m playwright install chromium`"
)
# A headless browser that stays off the network and runs as root in a container.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL = ("file", "data", "blob", "about")
# The interactive figures are driven on the English pages in light mode and on the Korean ones in dark.
VIEWS = [("en", "light"), ("ko", "dark")]
PAGES = [*toc_files(), "search", "genindex"]
# Math that MathJax has not typeset: no container of its output, or TeX delimiters still in the text.
RAW_MATH = r"""() => [...document.querySelectorAll("span.math, div.math")]
    .filter(e => !e.querySelector("mjx-container") || /\\[(\[]|\\begin\{/.test(e.textContent))
    .map(e => e.textContent.slice(0, 60))"""
# Text in Hangul, regular, bold and monospace (a code comment, an output): the first element of each kind
# shown on the page whose text has a Hangul syllable.
HANGUL_TEXT = (
    "h1",
    "article p",
    "article strong",
    ".bd-sidebar-primary a.current",
    "a.btn-language-switch",
    ".cell_input .c1",
    ".cell_output pre",
)
MARK_HANGUL = """selectors => selectors.filter(selector => {
    const element = [...document.querySelectorAll(selector)]
        .find(e => e.getClientRects().length && /[\uac00-\ud7a3]/.test(e.textContent));
    if (element) element.dataset.hangul = selector;
    return element; })"""
# Interactive figures whose script did not finish drawing (each sets data-ready once it has drawn).
EMPTY_FIGURES = """() => [...document.querySelectorAll('div.tl-interactive:not([data-ready="true"])')]
    .map(e => e.id || e.className)"""


def no_browser(reason: str, remedy: str = INSTALL):
    if os.environ.get("TRANSFORMER_LAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (TRANSFORMER_LAB_REQUIRE_BROWSER=1): {remedy}", pytrace=False)
    pytest.skip(f"no headless browser: {reason}; {remedy}")


def find_browser(playwright) -> str:
    explicit = os.environ.get("TRANSFORMER_LAB_BROWSER")
    if explicit:
        if not (Path(explicit).is_file() and os.access(explicit, os.X_OK)):
            pytest.fail(f"TRANSFORMER_LAB_BROWSER={explicit} is not an executable file", pytrace=False)
        return explicit
    on_path = [path for path in map(shutil.which, BROWSERS) if path]
    if on_path:
        return on_path[0]
    if Path(playwright.chromium.executable_path).is_file():  # after `python -m playwright install chromium`
        return playwright.chromium.executable_path
    no_browser(f"none of {', '.join(BROWSERS)} is on PATH, and Playwright has no Chromium of its own")


@pytest.fixture(scope="session")
def browser():
    if sync_playwright is None:
        no_browser("the Python package playwright is not installed", "`make install` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_browser(playwright), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, site):
    """open_page(name, scheme) -> the page `name` (as _toc.yml names it) loaded from disk in a fresh browser
    context whose system colour scheme is `scheme`, its equations typeset and its interactive figures drawn; it
    fails on any request off the disk, uncaught exception, console error or failed load during the load."""
    contexts = []

    def open_(name: str, scheme: str = "light"):
        context = browser.new_context(color_scheme=scheme)
        contexts.append(context)
        page = context.new_page()
        requests, errors = [], []

        def on_console(message):
            if message.type == "error":
                errors.append(f"console: {message.text}")

        page.on("request", lambda request: requests.append(request.url))
        page.on("requestfailed", lambda request: errors.append(f"failed to load {request.url}"))
        page.on("pageerror", lambda error: errors.append(f"uncaught {error}"))
        page.on("console", on_console)
        page.goto((site / f"{name}.html").as_uri())
        where = f"{name} ({scheme})"
        has_math = page.locator("span.math, div.math").count() > 0
        typeset = has_math and page.evaluate("() => window.MathJax?.startup?.promise.then(() => true)")
        page.evaluate("() => document.fonts.ready.then(() => true)")  # the fonts MathJax asked for: loaded or failed
        remote = [url for url in requests if urlsplit(url).scheme not in LOCAL]
        assert not remote, f"{where} requests over the network: {remote}"
        assert not errors, f"{where}: " + "\n".join(errors)
        if has_math:
            assert typeset, f"{where}: MathJax did not start"
            assert page.locator("mjx-container").count(), f"{where}: MathJax typeset nothing"
            assert not page.evaluate(RAW_MATH), f"{where}: math left as TeX: {page.evaluate(RAW_MATH)}"
        theme = page.evaluate("document.documentElement.dataset.theme")
        assert theme == scheme, f"{where}: the theme shows {theme!r}"
        assert not page.evaluate(EMPTY_FIGURES), (
            f"{where}: interactive figures drew nothing: {page.evaluate(EMPTY_FIGURES)}"
        )
        return page

    yield open_
    for context in contexts:
        context.close()


def hangul_fonts(page) -> dict[str, list[str]]:
    """For each kind of text in HANGUL_TEXT found on the page: the fonts Chromium drew it with."""
    page.evaluate("() => document.fonts.ready.then(() => true)")
    marked = page.evaluate(MARK_HANGUL, list(HANGUL_TEXT))
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    drawn = {}
    for selector in marked:
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f'[data-hangul="{selector}"]'})["nodeId"]
        drawn[selector] = [
            font["familyName"] for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        ]
    cdp.detach()
    return drawn


@pytest.mark.parametrize("edition", ["en", "ko"])
@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_without_errors(open_page, name, edition):
    """Every page of the table of contents, the search page and the index, in both editions, pass open_page's
    checks: the English pages in light mode and the Korean ones in dark, so that every page's layout is
    seen in both modes (the interactive figures are driven in both below)."""
    page = open_page(name if edition == "en" else f"{edition}/{name}", "light" if edition == "en" else "dark")
    assert page.evaluate("document.documentElement.lang") == edition
    drawn = hangul_fonts(page)  # Hangul drawn with the font the book ships (this machine has no Hangul font of its own)
    assert drawn or edition == "en", f"ko/{name}: no Hangul found on a Korean page"
    assert all(any(font.startswith("Nanum") for font in fonts) for fonts in drawn.values()), (
        f"{edition}/{name}: Hangul drawn without the book's Hangul font (boxes): {drawn}"
    )


def test_the_language_button_opens_the_same_page_in_the_other_edition(open_page):
    page = open_page("notebooks/05_positional_encoding")
    button = hangul_fonts(page)["a.btn-language-switch"]
    assert any(font.startswith("Nanum") for font in button), f"the button's 한국어 is drawn with {button}"
    page.locator("a.btn-language-switch").click()
    page.wait_for_load_state()
    assert page.url.endswith("/ko/notebooks/05_positional_encoding.html") and page.locator("html[lang=ko]").count()
    page.locator("a.btn-language-switch").click()
    page.wait_for_load_state()
    assert page.url.endswith("/html/notebooks/05_positional_encoding.html"), page.url


# The three interactive figures, driven as a reader would: a hover, a click, a slider. Each test reads the
# figure's own data from the page and checks that what the page shows follows it.
FIGURE_DATA = """kind => JSON.parse(document
    .querySelector(`div.tl-interactive[data-kind="${kind}"] script[type="application/json"]`).textContent)"""
SET_SLIDER = """([kind, name, value]) => {
    const input = document.querySelector(`div.tl-interactive[data-kind="${kind}"] input[name="${name}"]`);
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    return +input.value; }"""
# Text in light mode is dark and in dark mode light: the relative luminance of the figure's title.
LUMINANCE = """kind => {
    const [r, g, b] = getComputedStyle(document.querySelector(`div.tl-interactive[data-kind="${kind}"] .tl-title`))
        .color.match(/\\d+/g).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; }"""


def figure_page(open_page, name, kind, edition, scheme):
    page = open_page(name if edition == "en" else f"{edition}/{name}", scheme)
    root = page.locator(f'div.tl-interactive[data-kind="{kind}"]')
    assert root.count() == 1, f"{name}: {root.count()} {kind} figures"
    assert root.get_attribute("data-ready") == "true", f"{name}: the {kind} figure did not draw"
    assert root.locator(".tl-placeholder").count() == 0, f"{name}: the {kind} figure still shows its placeholder"
    luminance = page.evaluate(LUMINANCE, kind)
    assert luminance < 0.5 if scheme == "light" else luminance > 0.5, f"{name} ({scheme}): text luminance {luminance}"
    # The figure speaks the page's language: its title (from figures.po), controls and readout (its script's).
    parts = ["div.tl-title", "div.tl-controls", "div.tl-readout", "div.tl-hint"]
    texts = {part: root.locator(part).evaluate_all("divs => divs.map(d => d.textContent).join(' ')") for part in parts}
    hangul = {part: bool(re.search("[가-힣]", text)) for part, text in texts.items()}
    if edition == "ko":
        assert all(hangul.values()), f"ko/{name}: the {kind} figure has no Korean in {texts}"
    else:
        assert not any(hangul.values()), f"{name}: Korean in the English {kind} figure: {texts}"
    return page, root, page.evaluate(FIGURE_DATA, kind)


@pytest.mark.parametrize(("edition", "scheme"), VIEWS)
def test_attention_explorer_follows_the_hovered_token(open_page, edition, scheme):
    page, root, data = figure_page(open_page, "notebooks/09_translator", "attention", edition, scheme)
    heads = data["heads"]
    for head in (heads, 1):  # the mean of the heads, then head 2
        if head != heads:
            root.locator(f'button[data-control="head"][data-index="{head}"]').click()
            assert root.get_attribute("data-head") == str(head)
        query = 3
        root.locator(f'g.tl-token[data-side="q"][data-index="{query}"]').hover()
        assert root.get_attribute("data-focus") == f"q{query}"
        shown = [
            float(w)
            for w in root.locator('g.tl-token[data-side="k"]').evaluate_all(
                "tokens => tokens.map(t => t.dataset.weight)"
            )
        ]
        assert shown == pytest.approx(data["weights"][0][head][query], abs=1e-9)
        assert data["query_labels"][query] in root.locator(".tl-readout").inner_text()
    root.locator('g.tl-token[data-side="k"][data-index="0"]').hover()  # a key: the queries that read it
    assert root.get_attribute("data-focus") == "k0"
    shown = root.locator('g.tl-token[data-side="q"]').evaluate_all("tokens => tokens.map(t => +t.dataset.weight)")
    assert shown == pytest.approx([row[0] for row in data["weights"][0][1]], abs=1e-9)


@pytest.mark.parametrize(("edition", "scheme"), VIEWS)
def test_sampling_explorer_matches_the_package(open_page, edition, scheme):
    """For each setting whose distribution the package stored beside the figure, the page shows the same one."""
    page, root, data = figure_page(open_page, "notebooks/10_generating_text", "sampling", edition, scheme)
    V = len(data["labels"])
    for reference in data["references"]:
        for name, value, off in (
            ("temperature", reference["temperature"], None),
            ("top_k", reference["top_k"], V),
            ("top_p", reference["top_p"], 1),
        ):
            set_to = off if value is None else value
            assert page.evaluate(SET_SLIDER, ["sampling", name, set_to]) == pytest.approx(set_to)
        shown = dict(
            zip(
                *root.locator("g[data-token]").evaluate_all(
                    "bars => [bars.map(b => b.dataset.token), bars.map(b => +b.dataset.prob)]"
                )
            )
        )
        expected = dict(zip(data["labels"], reference["probs"]))
        assert shown == pytest.approx(expected, abs=1e-3), reference
        assert int(root.get_attribute("data-kept")) == sum(p > 0 for p in reference["probs"]), reference


@pytest.mark.parametrize(("edition", "scheme"), VIEWS)
def test_position_explorer_moves_with_its_sliders(open_page, edition, scheme):
    page, root, data = figure_page(open_page, "notebooks/05_positional_encoding", "positions", edition, scheme)
    readout = root.locator(".tl-readout")
    before = readout.inner_text()
    page.evaluate(SET_SLIDER, ["positions", "position", 20])
    page.evaluate(SET_SLIDER, ["positions", "pair", 2])
    assert (root.get_attribute("data-position"), root.get_attribute("data-pair")) == ("20", "2")
    sinusoidal = readout.inner_text()
    assert sinusoidal != before and f"{data['sinusoidal'][20][4]:.3f}" in sinusoidal
    root.locator('button[data-encoding="rotary"]').click()
    assert root.get_attribute("data-encoding") == "rotary"
    assert f"{data['rotary'][20][4]:.3f}" in readout.inner_text()


# The same figures in JupyterLab: a learner runs a cell and the figure draws in its output, in the light and
# the dark theme. A server on this machine only (127.0.0.1), stopped when the module's tests are done.
FIGURES_CELL = """import torch, transformer_lab as tl
torch.manual_seed(0)
display(tl.interactive.attention_explorer(torch.softmax(torch.randn(2, 2, 3, 4), -1), query_labels=list("abc"),
                                          key_labels=list("wxyz"), title="attention"))
display(tl.interactive.sampling_explorer(torch.randn(10), labels=list("abcdefghij"), title="sampling"))
display(tl.interactive.position_explorer(max_len=16, dim=8, q=torch.randn(8), k=torch.randn(8), title="positions"))"""


@pytest.fixture(scope="module")
def jupyterlab(browser, tmp_path_factory):
    folder, settings = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("lab-settings")
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(FIGURES_CELL)], metadata={"kernelspec": kernel}
    )
    nbformat.write(notebook, folder / "figures.ipynb")
    # A notebook opened with a figure already in its stored output, as a learner downloads a chapter.
    figure = tl.interactive.sampling_explorer(torch.randn(5), labels=list("abcde"), title="stored")
    output = nbformat.v4.new_output("display_data", {"text/html": figure.to_html(), "text/plain": repr(figure)})
    stored = nbformat.v4.new_code_cell("figure", outputs=[output])
    nbformat.write(nbformat.v4.new_notebook(cells=[stored], metadata={"kernelspec": kernel}), folder / "stored.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={folder}",
        ],
        env=os.environ | {"JUPYTERLAB_SETTINGS_DIR": str(settings)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # at most a minute to start
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within a minute")

        def set_theme(theme: str) -> None:
            path = settings / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"theme": theme}))

        yield url, set_theme
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_first_cell(page, url: str) -> None:
    """Shift+Enter in the notebook's first cell, as a learner runs it, once its kernel is idle. A key pressed while
    JupyterLab is still laying out its first page can go nowhere: then press it again."""
    deadline = time.monotonic() + 120
    while not any(
        session["kernel"]["execution_state"] == "idle"
        for session in json.load(urllib.request.urlopen(f"{url}/api/sessions", timeout=5))
    ):
        if time.monotonic() > deadline:
            pytest.fail("JupyterLab's kernel was not ready within two minutes")
        time.sleep(0.5)
    started = "() => /\\[[*0-9]+\\]/.test(document.querySelector('.jp-Notebook .jp-InputPrompt').textContent)"
    dialogs: list[str] = []
    for _ in range(3):
        close_dialogs(page, dialogs)
        try:
            page.locator(".jp-Notebook .jp-Cell .cm-content").first.click(timeout=20_000)
        except PlaywrightTimeout:
            continue
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(started, timeout=20_000)  # the prompt shows [*] or [1]: the cell runs
            return
        except PlaywrightTimeout:
            continue
    pytest.fail(f"JupyterLab did not run the cell after three tries; the dialogs it showed: {dialogs or 'none'}")


def close_dialogs(page, seen: list[str]) -> None:
    """Answer the dialogs JupyterLab shows over the notebook with their default button, as a learner would,
    noting what they said: one takes every click until it goes (a CI run met one, on a busy machine)."""
    dialog = page.locator(".jp-Dialog")
    while dialog.count():
        seen.append(" ".join(dialog.first.inner_text().split())[:200])
        dialog.first.locator(".jp-mod-accept").first.click(timeout=10_000)
        dialog.first.wait_for(state="detached", timeout=10_000)


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_figures_draw_in_jupyterlab(browser, jupyterlab, theme):
    url, set_theme = jupyterlab
    set_theme(theme)
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{url}/lab/tree/figures.ipynb")
        run_first_cell(page, url)
        page.wait_for_function(
            "() => document.querySelectorAll('div.tl-interactive[data-ready=true]').length === 3", timeout=120_000
        )
        assert page.evaluate(SET_SLIDER, ["sampling", "top_k", 3]) == 3
        assert page.locator('div.tl-interactive[data-kind="sampling"]').get_attribute("data-kept") == "3"
        luminance = page.evaluate(LUMINANCE, "sampling")
        assert luminance > 0.5 if "Dark" in theme else luminance < 0.5, f"{theme}: text luminance {luminance}"
        assert not errors, errors
    finally:
        context.close()


def test_a_stored_figure_says_how_to_draw_it_in_jupyterlab(browser, jupyterlab):
    """JupyterLab runs no script in an output it did not see made: the figure shows its placeholder text instead."""
    url, _ = jupyterlab
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{url}/lab/tree/stored.ipynb")
        placeholder = page.locator("div.tl-interactive .tl-placeholder")
        placeholder.wait_for(timeout=60_000)
        assert "once this cell has run" in placeholder.inner_text()
        assert page.locator("div.tl-interactive[data-ready]").count() == 0
    finally:
        context.close()
