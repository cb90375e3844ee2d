"""The Korean edition's catalogues (locales/ko/LC_MESSAGES/): read them, translate a notebook's markdown with
them, and update them after the English changed: `make translations` (or `python book/translations.py`).

Sphinx's gettext builder extracts every message of the book (a paragraph, heading, list item, table cell,
caption, alt text or exercise title, with its line breaks turned into spaces), one catalogue per page;
book/make_figures.py lists the diagrams' labels (diagrams.po), and the interactive figures' stored outputs
give their titles (figures.po), the chapters' code cells their comments (code/<chapter>.po), and the
exercise checkers their messages (checks/<module>.po, from transformer_lab/checks/); and sphinx-intl
merges them into the catalogues: a new message comes in untranslated, a changed one keeps its old
translation marked fuzzy, and a removed one goes. The translator then fills in what the update flagged;
the tests fail while any message is untranslated or fuzzy. The checkers' translations are compiled into
the package (transformer_lab/locales/<language>/LC_MESSAGES/checks.mo), where `transformer_lab.checks.ko`
reads them: `make translations` compiles them again after the translator's work.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import make_book
from _ext.code_comments import comments
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from markdown_it.token import Token
from myst_parser.config.main import MdParserConfig
from myst_parser.mdit_to_docutils.base import DocutilsRenderer
from myst_parser.parsers.mdit import create_md_parser

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
EXTRACTED = ROOT / "_build" / "i18n"  # the gettext build: _build/i18n/_build/gettext/<page>.pot
CHECKS = ROOT / "transformer_lab" / "checks"
# What the checkers show a learner: tr("...") and N_("...") (transformer_lab/checks/engine.py), and the first
# argument of Mistake(hint, impl) and Case(label, inputs).
CHECKS_KEYWORDS = {"tr": None, "N_": None, "Mistake": (1,), "Case": (1,)}

# The book's MyST syntax (_config.yml's parse.myst_enable_extensions), to find a markdown cell's blocks.
MARKDOWN = create_md_parser(
    MdParserConfig(
        enable_extensions={"amsmath", "colon_fence", "deflist", "dollarmath", "html_image", "linkify", "substitution"}
    ),
    DocutilsRenderer,
)
OPTION = re.compile(r"^:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$")
TITLED = {"exercise", "admonition"}  # directives whose argument is text to translate
WITH_TEXT = {"exercise", "figure", "note", "tip", "warning", "important", "admonition", "div"}  # bodies translated


# What a translation keeps exactly as the English has it: MyST roles, inline code, math, link targets, HTML.
KEPT = [
    r"(?<!`)\{[a-z:-]+\}`[^`]*`",  # roles: {numref}`fig-05-rope`, {glue:text}`key`, {doc}`...`
    r"`[^`]+`",  # inline code (after the roles)
    r"\$\$.+?\$\$",  # display math
    r"(?<!\$)\$[^$]+\$(?!\$)",  # inline math
    r"\]\([^)]*\)",  # link targets
    r"<[a-zA-Z/][^>]*>",  # HTML tags and autolinks
    r"\{\w+\}",  # the fields a checker's message fills in: {name}, {count}
]


def kept(text: str) -> list[str]:
    """The pieces of a message its translation must keep unchanged, sorted (their order may change)."""
    found = []
    for pattern in KEPT:
        found += re.findall(pattern, text)
        text = re.sub(pattern, " ", text)
    return sorted(found) + ["**"] * text.count("**")


def read(path: Path) -> Catalog:
    """One catalogue (.po), parsed."""
    with path.open("rb") as file:
        return read_po(file)


def catalogue(page: str, language: str = "ko") -> dict[str, str]:
    """The translated messages of one page (`notebooks/05_positional_encoding`): msgid -> msgstr.
    Untranslated and fuzzy messages are left out."""
    messages = read(LOCALES / language / "LC_MESSAGES" / f"{page}.po")
    return {m.id: m.string for m in messages if m.id and m.string and not m.fuzzy}


def message(text: str) -> str:
    """A block's text as Sphinx's catalogues spell it: line breaks become spaces."""
    return text.replace("\n", " ").strip()


def translate_markdown(text: str, messages: dict[str, str], missing: list[str]) -> str:
    """The MyST markdown `text` with each block (paragraph, heading, table row, directive title, figure
    caption, alt text) replaced by its translation in `messages`; a block with none is kept as it is and
    added to `missing`. Code, math and markup between the blocks are kept as they are."""
    lines = text.split("\n")

    def translated(block: str) -> str:
        if block and block not in messages:
            missing.append(block)
        return messages.get(block, block)

    edits: dict[int, tuple[int, list[str]]] = {}  # first line -> (line after the last, new lines)
    tokens: list[Token] = MARKDOWN.parse(text)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type in ("fence", "colon_fence") and token.info.startswith("{"):
            name, _, argument = token.info[1:].partition("}")
            start, end = token.map
            fence = lines[start][: len(lines[start]) - len(lines[start].lstrip())] + token.markup
            if argument.strip() and name in TITLED:
                argument = " " + translated(argument.strip())
            head = [fence + "{" + name + "}" + argument]
            body = token.content.rstrip("\n").split("\n")
            while body and OPTION.match(body[0]):
                option = OPTION.match(body[0])
                alt = option["name"] == "alt" and translated(option["value"].strip()) != option["value"].strip()
                head.append(f":alt: {translated(option['value'].strip())}" if alt else body[0])
                body.pop(0)
            rest = "\n".join(body)
            if name in WITH_TEXT:
                rest = translate_markdown(rest, messages, missing)
            edits[start] = (end, [*head, *(rest.split("\n") if rest.strip() else []), fence])
        elif token.type == "inline" and token.map and tokens[i - 1].type in ("paragraph_open", "heading_open"):
            start, end = token.map
            first, content_first = lines[start], token.content.split("\n")[0]
            if content_first in first:
                prefix = first[: first.rfind(content_first)]  # "## ", "- ", "> ", "1. "
            else:
                prefix = first[: len(first) - len(first.lstrip())]
            block = message(token.content)
            if translated(block) != block:
                edits[start] = (end, [prefix + translated(block)])
        elif token.type == "tr_open":
            start, end = token.map
            blocks, i = [], i + 1
            while tokens[i].type != "tr_close":
                if tokens[i].type == "inline":
                    blocks.append(message(tokens[i].content))
                i += 1
            cells = [translated(block) for block in blocks]
            if cells != blocks:
                edits[start] = (end, ["| " + " | ".join(cells) + " |"])
        i += 1
    out, n = [], 0
    while n < len(lines):
        if n in edits:
            end, new = edits[n]
            out.extend(new)
            n = end
        else:
            out.append(lines[n])
            n += 1
    return "\n".join(out)


def extract(folder: Path = EXTRACTED) -> Path:
    """The English messages, one template (.pot) per page plus diagrams.pot, figures.pot and code/, built under
    `folder`; returns the folder of the templates."""
    result = make_book.build("en", folder, builder="gettext")
    if result.returncode:
        raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
    templates = folder / "_build" / "gettext"
    write_extra_templates(templates)
    return templates


def write_extra_templates(templates: Path) -> None:
    """The words of the book that Sphinx does not extract: diagrams.pot, every label with words in it of
    every diagram (book/make_figures.py); figures.pot, the words of the chapters' interactive figures that
    come from the chapter (titles, axis names: in their stored outputs) and the text a figure shows until
    its script runs (the scripts' own words are in both languages in the scripts); and code/<chapter>.pot,
    the comments of the chapter's code cells."""
    import make_figures  # here: it draws with this module's catalogues
    import nbformat

    from transformer_lab.interactive import PLACEHOLDER, WORDS, InteractiveFigure

    labels = Catalog(project="Transformer Lab", fuzzy=False)
    for label in make_figures.labels():
        labels.add(label)
    words = Catalog(project="Transformer Lab", fuzzy=False)
    words.add(PLACEHOLDER)
    words.add("interactive")  # the figure's label for a screen reader: "<title> (interactive)"
    for chapter in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(chapter, as_version=4).cells:
            for output in cell.get("outputs", []):
                page = output.get("data", {}).get("text/html", "")
                if 'class="tl-interactive"' in page:
                    figure = InteractiveFigure.from_html(page)
                    for word in [figure.title] + [figure.data[field] for field in WORDS if field in figure.data]:
                        words.add(word)
    for name, catalogue in (("diagrams", labels), ("figures", words)):
        with (templates / f"{name}.pot").open("wb") as file:
            write_po(file, catalogue, omit_header=False, width=100)
    (templates / "checks").mkdir(exist_ok=True)
    for module in sorted(CHECKS.glob("*.py")):
        found = Catalog(project="Transformer Lab", fuzzy=False)
        for _, text, _, _ in extract_from_file("python", module, keywords=CHECKS_KEYWORDS):
            if text:
                found.add(text, flags=["python-brace-format"] if re.search(r"\{\w+\}", text) else [])
        if len(found):
            with (templates / "checks" / f"{module.stem}.pot").open("wb") as file:
                write_po(file, found, omit_header=False, width=100)
    (templates / "code").mkdir(exist_ok=True)
    for chapter in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        code = Catalog(project="Transformer Lab", fuzzy=False)
        for cell in nbformat.read(chapter, as_version=4).cells:
            if cell.cell_type == "code":
                for _, _, text in comments(cell.source):
                    code.add(text)
        with (templates / "code" / f"{chapter.stem}.pot").open("wb") as file:
            write_po(file, code, omit_header=False, width=100)


def update(language: str = "ko") -> None:
    """Merge the English messages into the catalogues of `language`."""
    templates = extract()
    subprocess.run(
        [sys.executable, "-m", "sphinx_intl", "update", "--pot-dir", str(templates)]
        + ["--language", language, "--locale-dir", str(LOCALES), "--no-obsolete"],
        check=True,
    )
    for path in (LOCALES / language / "LC_MESSAGES").rglob("*.po"):  # sphinx-intl keeps them if nothing else changed
        messages = read(path)
        if messages.obsolete:
            with path.open("wb") as file:
                write_po(file, messages, width=76, ignore_obsolete=True)


UNDATED = datetime(2026, 1, 1, tzinfo=UTC)  # the compiled catalogue changes only when a message does


def compile_checks(language: str = "ko") -> Path:
    """The checkers' translated messages (checks/*.po) compiled into the package, for
    `transformer_lab.checks.<language>`; untranslated and fuzzy messages stay English. Returns the .mo's path."""
    merged = Catalog(language, project="Transformer Lab", fuzzy=False, creation_date=UNDATED, revision_date=UNDATED)
    for path in sorted((LOCALES / language / "LC_MESSAGES" / "checks").glob("*.po")):
        for message in read(path):
            if message.id and message.string and not message.fuzzy:
                merged.add(message.id, message.string)
    compiled = ROOT / "transformer_lab" / "locales" / language / "LC_MESSAGES" / "checks.mo"
    compiled.parent.mkdir(parents=True, exist_ok=True)
    with compiled.open("wb") as file:
        write_mo(file, merged)
    return compiled


if __name__ == "__main__":
    update()
    compile_checks()
    print(
        "catalogues updated: translate the new (empty) and fuzzy messages in locales/ko/LC_MESSAGES/, then run "
        "`make translations` again to compile the checkers' messages into the package"
    )
