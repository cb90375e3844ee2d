"""The Korean edition (한국어판): current by construction, one term per concept, the same exercises.

- the catalogues hold exactly the messages the English book has now (a fresh extraction), every one
  translated and none fuzzy: an English change lands only with its Korean;
- a translation keeps the English's code, math, roles and links;
- each glossary term is translated the glossary's way everywhere;
- the Korean learner's edition has the English edition's code, its comments in Korean, checkers that speak
  Korean, and no English prose;
- the checkers' Korean messages compiled into the package are the catalogues' (checks/*.po);
- the Korean diagrams find a glyph for every character.

The built Korean book is tested with the English one in test_book.py and test_browser.py.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest
from babel.messages.pofile import read_po

from conftest import ROOT

sys.path.insert(0, str(ROOT / "book"))
import make_exercises  # noqa: E402
import make_figures  # noqa: E402
import translations  # noqa: E402
from _ext import code_comments  # noqa: E402
from _ext.code_comments import code_only  # noqa: E402

CATALOGUES = sorted((translations.LOCALES / "ko" / "LC_MESSAGES").rglob("*.po"))
PAGES = [str(p.relative_to(translations.LOCALES / "ko" / "LC_MESSAGES").with_suffix("")) for p in CATALOGUES]
THEMES_OWN = {"sphinx", "booktheme"}  # Sphinx's and the themes' words ("Skip to main content"), not the book's


def read(path: Path):
    with path.open("rb") as file:
        return read_po(file)


def test_the_catalogues_hold_every_message_of_the_book(extracted):
    templates = {str(p.relative_to(extracted).with_suffix("")): p for p in extracted.rglob("*.pot")}
    assert sorted(templates) == sorted(p for p in PAGES if p not in THEMES_OWN), (
        "catalogues and pages differ: run `make translations`"
    )
    for page, template in templates.items():
        english = {m.id for m in read(template) if m.id}
        korean = {m.id for m in read(translations.LOCALES / "ko" / "LC_MESSAGES" / f"{page}.po") if m.id}
        new, gone = english - korean, korean - english
        assert not new and not gone, (
            f"{page}: the English changed ({len(new)} new or changed messages, {len(gone)} gone): run "
            f"`make translations` and translate what it flags. New: {[m[:60] for m in new][:3]}"
        )


@pytest.mark.parametrize("path", CATALOGUES, ids=PAGES)
def test_every_message_is_translated_and_keeps_its_markup(path):
    catalogue = read(path)
    assert not catalogue.obsolete, f"{path.name}: obsolete messages (#~): run `make translations`"
    for message in catalogue:
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id[:80]!r}"
        assert not message.fuzzy, f"fuzzy (the English changed since it was translated): {message.id[:80]!r}"
        assert translations.kept(message.string) == translations.kept(message.id), (
            f"the translation changes the code, math, roles or links of {message.id[:80]!r}"
        )
        assert message.string.count('\\"') <= message.id.count('\\"'), (
            f'a quotation mark escaped twice (\\" shows on the page): {message.string[:80]!r}'
        )


# Glossary entries are `english term (한국어 용어)`; "a, b (x, y)" pairs them up, "name, ABBR (x)" gives one
# Korean term for both (an abbreviation may also stay as it is).
GLOSSARY_ENTRY = re.compile(r"^(?P<english>[A-Za-z][^\n(]*?) \((?P<korean>[^)\n]*[가-힣][^)\n]*)\)$", re.M)
# Words with an everyday sense too ("a measured value", "its rank among the digits") are checked only in
# messages that speak of the concept.
CONCEPT_CONTEXT = {
    "query": r"\bquer(y|ies)\b.{0,40}\bkeys?\b|\bkeys?\b.{0,40}\bquer(y|ies)\b",
    "key": r"\bquer(y|ies)\b.{0,40}\bkeys?\b|\bkeys?\b.{0,40}\b(quer(y|ies)|values?)\b",
    "value": r"\bkeys?\b.{0,40}\bvalues?\b|\bvalues?\b.{0,40}\bkeys?\b|\bvalue vectors?\b",
    "rank": r"\bprocess(es)?\b|\bGPUs?\b|\bDDP\b|\bworld\b",
    "head": r"\battention\b|\bheads\b|\bmulti-head\b|\blm_head\b",
    "memory": r"\bencoder\b|\bdecoder\b|\bcross-attention\b",
    "mask": r"\bmask(s|ed)?\b",
}
# Where the word names something else: chapter 1's task data are key-value pairs (키-값 쌍), and a key's
# value in them is 값, not the attention value (밸류).
OTHER_SENSE = re.compile(r"\bkey[-:]value\b", re.I)
OTHER_SENSE_MESSAGES = {("value", "A task where the distance is under our control: **associative recall**.")}


def glossary() -> list[tuple[str, str]]:
    """(English term, Korean term) for every glossary entry."""
    pairs = []
    for entry in GLOSSARY_ENTRY.finditer((ROOT / "book" / "glossary.md").read_text()):
        english = [t.strip() for t in entry["english"].split(",")]
        korean = [t.strip() for t in entry["korean"].split(",")]
        assert len(korean) in (1, len(english)), f"one Korean term per concept: {entry[0]}"
        pairs += zip(english, korean if len(korean) == len(english) else korean * len(english))
    return pairs


# Code written without backticks, as a code comment or a checker's hint writes it: a call (with one level of
# nested parentheses), indexing, a dotted or snake_case name, a keyword argument. ASCII names only: a Korean
# word before parentheses, 어텐션(1–5장), is prose.
BARE_CODE = re.compile(
    r"\b[\w.]+\((?:[^()]|\([^()]*\))*\)|\b\w+\[[^\]]*\]|\b\w+(?:\.\w+)+\b|\b\w+_\w+\b|\b\w+=\S+", re.ASCII
)


def prose(text: str, bare_code: bool = True) -> str:
    """A message without the pieces that stay English: code (in backticks, and bare unless `bare_code` is
    False: a Korean message may write 키 inside a bare call's parentheses), math, roles, links, titles in
    italics, quotes."""
    for pattern in translations.KEPT:
        text = re.sub(pattern, " ", text)
    if bare_code:
        text = BARE_CODE.sub(" ", text)
    return re.sub(r'\*[^*\n]+\*|"[^"\n]*"', " ", text.replace("**", ""))


def test_the_glossary_is_the_term_base():
    terms = glossary()
    assert len(terms) >= 40
    messages = [(path, m.id, m.string) for path in CATALOGUES for m in read(path) if m.id and m.string != m.id]
    problems = []
    for english, korean in terms:
        abbreviation = sum(c.isupper() for c in english) >= 2 and " " not in english
        word = re.compile(rf"(?<![\w-]){re.escape(english)}(s|es)?(?![\w-])", re.I)
        context = re.compile(CONCEPT_CONTEXT.get(english, ""), re.I)
        for path, msgid, msgstr in messages:
            english_prose = OTHER_SENSE.sub(" ", prose(msgid))
            if not (word.search(english_prose) and context.search(english_prose)):
                continue
            if any(english == term and msgid.startswith(start) for term, start in OTHER_SENSE_MESSAGES):
                continue
            if korean.replace(" ", "") in prose(msgstr, bare_code=False).replace(" ", "") or (
                abbreviation and english in msgstr
            ):
                continue
            problems.append(f"{path.stem}: {english!r} is not {korean!r} in {msgstr[:70]!r}")
    assert not problems, f"{len(problems)} messages translate a glossary term another way:\n" + "\n".join(problems)


CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_the_korean_learners_edition_is_the_english_one_in_korean(path):
    english = nbformat.read(make_exercises.EDITIONS["en"] / path.name, as_version=4)
    korean = nbformat.read(make_exercises.EDITIONS["ko"] / path.name, as_version=4)
    assert [(c.cell_type, c.metadata) for c in korean.cells] == [(c.cell_type, c.metadata) for c in english.cells]
    code = [(k.source, e.source) for k, e in zip(korean.cells, english.cells) if e.cell_type == "code"]
    stub = re.compile(r"raise NotImplementedError\(.*\)")  # its message: "Your code here. Hint: ..." in Korean
    korean_checkers = [k for k, _ in code if "from transformer_lab.checks.ko import " in k]
    english_checkers = [k for k, _ in code if "from transformer_lab.checks import " in k]
    assert not english_checkers and len(korean_checkers) == sum("transformer_lab.checks" in e for _, e in code)
    same = [
        code_only(stub.sub("raise", k).replace("transformer_lab.checks.ko ", "transformer_lab.checks "))
        == code_only(stub.sub("raise", e))
        for k, e in code
    ]
    assert all(same), "the code is the English edition's, but for its comments, the stubs' messages and the checkers"
    catalogue = read(translations.LOCALES / "ko" / "LC_MESSAGES" / "code" / f"{path.stem}.po")
    kept = {m.id for m in catalogue if m.id == m.string}  # comments whose words are code, kept as they are
    comments = [text for k, _ in code for _, _, text in code_comments.comments(k)]
    english_comments = [c for c in comments if not re.search("[가-힣]", c) and c not in kept]
    assert comments and not english_comments, f"English comments in the Korean edition's code: {english_comments[:3]}"
    assert all(not c.outputs for c in korean.cells if c.cell_type == "code")
    missing = []
    for cell in korean.cells:
        if cell.cell_type == "markdown":
            translations.translate_markdown(cell.source, {}, missing)
    hangul = [m for m in missing if re.search("[가-힣]", m)]
    english_left = [m for m in missing if m not in hangul and len(re.findall(r"\b[a-z]{2,}\b", prose(m))) >= 3]
    assert len(hangul) > 20 and not english_left, f"English prose left in the Korean edition: {english_left[:3]}"
    for figure in re.findall(r"\.\./book/figures/[\w.-]+\.svg", "".join(c.source for c in korean.cells)):
        assert figure.endswith(".ko.svg"), f"{figure}: the Korean edition shows the Korean drawing"


def test_a_translated_comment_changes_the_comment_and_nothing_else():
    source = (
        "x = f(a, b)  # (B, T, D)\n"
        "# BEGIN SOLUTION hint: call f\n"
        "y = '# not a comment'    # the keys, then the values\n"
        "# END SOLUTION\n"
        "z = 1  # noqa: E731"
    )
    found = [text for _, _, text in code_comments.comments(source)]
    assert found == ["call f", "the keys, then the values"], "shapes, markers and strings are not comments to translate"
    korean = {"call f": "f를 부른다", "the keys, then the values": "키, 그다음 밸류"}
    missing = []
    translated = code_comments.translate_comments(source, korean, missing)
    expected = source.replace("hint: call f", "hint: f를 부른다")
    expected = expected.replace("# the keys, then the values", "# 키, 그다음 밸류")
    assert translated == expected and not missing, "an exercise's marker stays English around its translated hint"
    assert code_only(translated) == code_only(source)
    assert code_comments.translate_comments(source, {}, missing) == source and sorted(missing) == sorted(found)
    assert code_comments.comments('x = """not closed  # a string') == [], "code that is not Python stays as it is"


def test_korean_diagrams_find_their_glyphs():
    """Every label of every Korean drawing renders: matplotlib warns of no glyph missing from its fonts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for draw in make_figures.drawings().values():
            fig = draw()
            make_figures.translate(fig, "ko")
            fig.canvas.draw()
            plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:5]


def test_the_package_speaks_the_catalogues_korean():
    """transformer_lab.checks.ko reads the compiled catalogue in the package: it holds every translation of
    checks/*.po, and nothing else (`make translations` compiles it)."""
    from babel.messages.mofile import read_mo

    with (ROOT / "transformer_lab" / "locales" / "ko" / "LC_MESSAGES" / "checks.mo").open("rb") as file:
        compiled = {m.id: m.string for m in read_mo(file) if m.id}
    translated: dict[str, str] = {}
    for path in sorted((translations.LOCALES / "ko" / "LC_MESSAGES" / "checks").glob("*.po")):
        for m in read(path):
            if m.id and m.string and not m.fuzzy:
                assert translated.setdefault(m.id, m.string) == m.string, f"{m.id[:60]!r} has two translations"
    assert len(translated) > 300
    assert compiled == translated, "the package's Korean checkers are out of date: run `make translations`"
