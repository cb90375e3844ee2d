"""The book builds strictly (warnings are errors) in both editions, English and Korean, and the built site is
complete: every page in both, each linked to its counterpart, the Korean one read in Korean."""

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import ROOT, toc_files

LANGUAGES = ("en", "ko")
CHAPTERS = [f for f in toc_files() if f.startswith("notebooks/")]
LEARNERS_EDITION = {"en": "exercises", "ko": "exercises_ko"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_in_the_toc_is_built(books, language):
    for name in toc_files():
        assert (books[language] / f"{name}.html").exists(), name
    html = BeautifulSoup((books[language] / "book" / "intro.html").read_text(), "html.parser")
    assert html.html["lang"] == language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_pages(books, name, language):
    page = books[language] / f"{name}.html"
    soup = BeautifulSoup(page.read_text(), "html.parser")
    images = soup.find_all("img")
    assert images, f"{name} has no figure"
    for img in images:
        src = img["src"]
        if not src.startswith(("http", "data:")):
            assert (page.parent / src).resolve().exists(), f"{name}: missing image {src}"
    for img in soup.select("article img"):  # the chapter's figures, drawn or plotted
        alt = img.get("alt", "")
        assert language == "en" or re.search("[가-힣]", alt), f"{name}: English alt text {alt[:40]!r}"
        assert len(alt.split()) >= 4 and not re.search(r"\.(png|svg|jpe?g)\b", alt), f"{name}: image without alt text"
        figure = img.find_parent("figure")
        assert figure is not None and figure.select_one(".caption-number"), f"{name}: {alt[:40]!r} is not a figure"
    assert not soup.select(".output.traceback, .output.error"), f"{name} shows an error output"
    assert "Traceback (most recent call last)" not in soup.get_text()
    html = page.read_text()
    assert "colab.research.google.com" in html and "mybinder.org" in html, "launch buttons missing"
    assert ".ipynb" in html and "download" in html.lower(), "download button missing"


def test_internal_links_resolve(site):
    for page in site.rglob("*.html"):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        for a in BeautifulSoup(page.read_text(), "html.parser").find_all("a", href=True):
            href = a["href"].split("#")[0]
            if not href or href.startswith(("http:", "https:", "mailto:", "javascript:")):
                continue
            assert (page.parent / href).resolve().exists(), f"{page.relative_to(site)} links to missing {href}"


def test_the_book_loads_nothing_over_the_network(site):
    """Opened from disk offline, the book is whole: every script, stylesheet, font and image is its own file,
    MathJax included (book/_ext/offline_mathjax.py). Links to other sites are fine: a reader follows them."""
    remote = re.compile(r"^(https?:)?//")
    mathjax = set()
    for page in site.rglob("*.html"):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        soup = BeautifulSoup(page.read_text(), "html.parser")
        loaded = [tag["src"] for tag in soup.select("script[src], img[src]")] + [
            link["href"]
            for link in soup.select("link[href]")
            if {"stylesheet", "preload", "modulepreload", "icon"} & set(link.get("rel", []))
        ]
        assert not [url for url in loaded if remote.match(url)], f"{page.relative_to(site)} loads from the network"
        mathjax |= {(page.parent / src.split("?")[0]).resolve() for src in loaded if "mathjax" in src.lower()}
    for css in (site / "_static").rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css.read_text()), f"{css.relative_to(site)} loads a URL"
    assert len(mathjax) == 2, f"the two editions load MathJax from {sorted(map(str, mathjax))}"
    for component in mathjax:
        assert component.is_file(), f"missing {component}"
        assert list((component.parent / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")), "no MathJax fonts"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", [f for f in CHAPTERS if f[10:12] <= "13"])
def test_chapters_draw_their_ideas(books, name, language):
    """Chapters 1-13 each show at least one diagram drawn by book/make_figures.py, in the edition's language."""
    soup = BeautifulSoup((books[language] / f"{name}.html").read_text(), "html.parser")
    drawn = [img["src"] for img in soup.select("article img") if re.search(r"ch\d\d_\w+(\.ko)?\.svg$", img["src"])]
    assert drawn, name
    assert all(src.endswith(".ko.svg") == (language == "ko") for src in drawn), drawn


def test_the_diagrams_are_current():
    """Each SVG in book/figures/ is what book/make_figures.py draws now (run it and commit after a change)."""
    sys.path.insert(0, str(ROOT / "book"))
    try:
        import make_figures
    finally:
        sys.path.remove(str(ROOT / "book"))
    assert make_figures.stale() == [], "stale diagrams: run `make figures` and commit book/figures/"


def test_every_chapter_notebook_is_in_the_toc():
    listed = set(toc_files())
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"notebooks/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


def test_notebooks_were_run_top_to_bottom():
    """nbval compares stored outputs with a fresh run: they must come from one clean, complete run."""
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), (
            f"{path.name}: run it in a fresh kernel"
        )
        assert not any(o.output_type == "error" for c in code for o in c.outputs), f"{path.name} stores an error"
        assert "tl.set_seed(0)" in code[0].source, f"{path.name}: first cell must be the set-up"


def test_compared_cells_glue_nothing():
    """A glued value is an output only where MyST-NB is installed: in a compared cell, a run without it (Colab,
    plain JupyterLab) would miss that output and fail nbval. tl.show belongs in cells tagged nbval-ignore-output."""
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or "nbval-ignore-output" in cell.metadata.get("tags", []):
                continue
            glued = [o for o in cell.outputs if any("papermill" in mime for mime in o.get("data", {}))]
            assert not glued, f"{path.name}, cell {index}: a compared cell glues a value; move tl.show to a shown cell"


def test_the_publishing_workflow_runs_the_readme_commands():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"]
    build, publish = workflow["jobs"]["test-and-build"], workflow["jobs"]["publish"]
    commands = [step.get("run", "") for step in build["steps"]]
    assert "make test" in commands and "make book" in commands
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    uploads = [step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "_build/html"
    assert publish["needs"] == "test-and-build" and "refs/heads/main" in publish["if"]
    assert any(step.get("uses", "").startswith("actions/deploy-pages") for step in publish["steps"])


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_buttons_open_the_learners_edition(books, name, language):
    """Binder, Colab and the .ipynb download open exercises/<chapter> (the Korean book: exercises_ko/); the
    solutions stay downloadable."""
    page = books[language] / f"{name}.html"
    edition = LEARNERS_EDITION[language]
    chapter = Path(name).name + ".ipynb"
    soup = BeautifulSoup(page.read_text(), "html.parser")
    links = [a["href"] for a in soup.find_all("a", href=True)]
    for host in ("mybinder.org", "colab.research.google.com"):
        launch = [href for href in links if host in href]
        assert launch and all(f"{edition}/{chapter}" in href for href in launch), f"{name}: {host} button {launch}"
    downloads = [href for href in links if href.endswith(f"{edition}/{chapter}") and not href.startswith("http")]
    assert downloads, f"{name}: no download of the learner's edition"
    assert (page.parent / downloads[0]).resolve().read_text() == (ROOT / edition / chapter).read_text()
    assert any(href.endswith(f"_sources/notebooks/{chapter}") for href in links), f"{name}: no download with solutions"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_exercises_have_collapsed_solutions(books, name, language):
    soup = BeautifulSoup((books[language] / f"{name}.html").read_text(), "html.parser")
    exercises = soup.select("div.exercise")
    solutions = soup.select("div.solution")
    assert len(exercises) >= 3, f"{name}: {len(exercises)} exercises shown"
    assert len(solutions) == len(exercises), f"{name}: {len(solutions)} solutions for {len(exercises)} exercises"
    assert all("dropdown" in s.get("class", []) for s in solutions), f"{name}: a solution is not collapsed"
    titles = [e.select_one(".exercise-title, p.admonition-title").get_text(" ", strip=True) for e in exercises]
    assert language == "en" or all(re.search("[가-힣]", t) for t in titles), f"{name}: English exercise titles"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_links_to_the_same_page_in_the_other_edition(books, language):
    other = "ko" if language == "en" else "en"
    for name in [*toc_files(), "genindex", "search"]:
        page = books[language] / f"{name}.html"
        soup = BeautifulSoup(page.read_text(), "html.parser")
        switch = soup.select("a.btn-language-switch")
        assert len(switch) == 1 and switch[0]["hreflang"] == other, f"{language}/{name}: no link to the {other} edition"
        target = (page.parent / switch[0]["href"]).resolve()
        assert target == (books[other] / f"{name}.html").resolve(), f"{language}/{name} links to {target}"
        alternate = soup.select_one(f'link[rel="alternate"][hreflang="{other}"]')
        assert alternate is not None and (page.parent / alternate["href"]).resolve() == target


# Prose on a page: what a translator writes, not what the code prints or the math says.
PROSE = "article p, article li, article h1, article h2, article h3, article figcaption, article td, article dd"
NOT_PROSE = "pre, code, .math, .cell_output, .pasted-text, .output, .tl-interactive, .no-translate, mjx-container"


def words(text: str) -> set[str]:
    return set(re.findall(r"\b[a-z]{2,}\b", text.lower()))


def english_prose(soup, kept: list[set[str]] = ()) -> list[str]:
    """The blocks of a page's prose with three or more English words and no Hangul, but for those the
    catalogue keeps in English on purpose (`kept`: the words of each such message, a paper's title say)."""
    for skipped in soup.select(NOT_PROSE):
        skipped.decompose()
    blocks = {block.get_text(" ", strip=True) for block in soup.select(PROSE) if not block.find(["p", "li"])}
    english = [b for b in blocks if len(re.findall(r"\b[a-z]{2,}\b", b)) >= 3 and not re.search("[가-힣]", b)]
    return [b for b in english if not any(words(b) <= message for message in kept)]


def english_comments(soup, kept: list[set[str]] = ()) -> list[str]:
    """The comments in a page's code cells with three or more English words and no Hangul, but for those
    whose words are code and stay as they are (`kept`)."""
    comments = {c.get_text().lstrip("# ") for c in soup.select("div.cell_input .c1, div.cell_input .c")}
    comments = {c.removeprefix("BEGIN SOLUTION hint: ") for c in comments}  # the exercise's marker stays English
    english = [c for c in comments if len(re.findall(r"\b[a-z]{2,}\b", c)) >= 3 and not re.search("[가-힣]", c)]
    return [c for c in english if not any(words(c) <= message for message in kept)]


@pytest.mark.parametrize("name", toc_files())
def test_korean_pages_read_in_korean(books, name):
    """No untranslated message on a Korean page, and the same glued values as on the English page."""
    from babel.messages.pofile import read_po

    korean = BeautifulSoup((books["ko"] / f"{name}.html").read_text(), "html.parser")
    english = BeautifulSoup((books["en"] / f"{name}.html").read_text(), "html.parser")
    quotes = str.maketrans("‘’“”", "''\"\"")  # the English page curls the quotes of a glued text, the Korean does not
    glued = [sorted(s.get_text().translate(quotes) for s in p.select("span.pasted-text")) for p in (english, korean)]
    assert glued[0] == glued[1], f"{name}: the glued values differ between the editions"
    with (ROOT / "locales" / "ko" / "LC_MESSAGES" / f"{name}.po").open("rb") as file:
        kept = [words(m.id) for m in read_po(file) if m.id and m.string == m.id]
    if name.startswith("notebooks/"):  # the comments in the code cells too (book/_ext/code_comments.py)
        with (ROOT / "locales" / "ko" / "LC_MESSAGES" / "code" / f"{Path(name).name}.po").open("rb") as file:
            code_kept = [words(m.id) for m in read_po(file) if m.id and m.string == m.id]
        assert english_comments(english), f"{name}: the check finds no English comment on the English page"
        left = english_comments(korean, code_kept)
        assert not left, f"{name}: English comments in the Korean page's code: {left[:3]}"
    assert english_prose(english), f"{name}: the check finds no English prose on the English page"
    assert not english_prose(korean, kept), f"{name}: English on the Korean page: {english_prose(korean, kept)[:3]}"


def search_index(folder: Path) -> dict:
    text = (folder / "searchindex.js").read_text()
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def test_the_korean_search_finds_a_word_whatever_particle_follows_it(books):
    """어텐션 finds every page that says 어텐션은, 어텐션을, 어텐션의 ... (book/_ext/korean_search.py)."""
    index = search_index(books["ko"])

    def pages(word: str) -> set[int]:
        """The pages the search box lists for `word`: by their text (terms) or their titles (titleterms)."""
        found = [index[kind].get(word, []) for kind in ("terms", "titleterms")]
        return set().union(*({f} if isinstance(f, int) else set(f) for f in found))

    particles = ("은", "는", "을", "를", "의", "이", "가", "에", "에서", "으로", "로", "과", "와", "도")
    for word in ("어텐션", "토큰", "디코더", "임베딩", "마스크", "행렬"):
        with_particle = set().union(*(pages(word + particle) for particle in particles))
        assert with_particle, f"no page says {word} with a particle: pick another word"
        assert with_particle <= pages(word), f"a search for {word} misses pages {with_particle - pages(word)}"
    assert pages("어텐션은"), "a word as written is still indexed"
    assert pages("gpt") >= pages("gpt의") != set(), "an English name with a particle is found by the name"


def test_korean_pages_label_their_controls_in_korean(books):
    """Tooltips and screen-reader labels (title, aria-label, alt) on the Korean pages are Korean: the themes'
    words from their catalogues or the book's (sphinx.po, booktheme.po), including those the book theme's
    templates write as they are. Stored cell outputs are left out (what the code printed stays English)."""
    allowed = {"English", "Transformer Lab"}  # the button to the English edition; the book's name (the logo)
    english = {}
    for page in sorted(books["ko"].rglob("*.html")):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for output in soup.select(".cell_output"):
            output.decompose()
        for element in soup.select("[title], [aria-label], img[alt]"):
            for attribute in ("title", "aria-label", "alt"):
                text = element.get(attribute, "")
                if re.search("[A-Za-z]{2,}", text) and not re.search("[가-힣]", text) and text not in allowed:
                    english.setdefault(text, page.relative_to(books["ko"]).as_posix())
    assert not english, f"English labels on Korean pages (label: first page): {english}"
