"""What Sphinx's standard translation (gettext catalogues, `language: ko`) needs for this book.

Sphinx extracts and translates the text nodes that carry their source. Five things in the book need help:

- sphinx-exercise's exercise titles: its directive builds the title node with neither a source nor a
  rawsource, so it is overridden to set them; its post-transform then flattens the title into a node the
  gettext builder never sees, so for that builder only the title is copied beforehand into a paragraph;
  and the solutions repeat their exercise's title from sphinx-exercise's registry, which is pointed at
  the translated node.
- the tables that `make bench` and `make bands` regenerate (`:::{div} no-translate` around them): their
  text changes with every regeneration, so it is neither extracted nor translated.
- glued values (`{glue:text}` in a translated paragraph): Sphinx parses each translation as
  a small document of its own, in which myst-nb cannot find the notebook's glued outputs (it drops
  them, mostly without a warning); there each glue role is read as a reference to the notebook's saved
  glue data, so the glued value is the one the English page shows.

- the chapters' interactive figures: stored outputs, which Sphinx does not translate; their words are
  in figures.po and drawn into the figure here.
- the comments in the chapters' code cells, which Sphinx leaves in the code: they are in
  code/<chapter>.po and put into the code here.

And the themes' own words (buttons, tooltips, the search box): Sphinx and the themes ship Korean for
most of them; locales/ko/LC_MESSAGES/sphinx.po and booktheme.po give the rest, the search box's text
is set here, and the few tooltips and labels the book theme's templates write as they are are replaced
in the written pages.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import sphinx.io
import sphinx.locale
from babel.messages.pofile import read_po
from code_comments import translate_comments
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.i18n import CatalogRepository
from sphinx_exercise.directive import ExerciseDirective
from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, exercise_subtitle

from transformer_lab.interactive import PLACEHOLDER, WORDS, InteractiveFigure

GLUE_HERE = re.compile(r"\{glue:text\}`(?P<key>[^`:]+)`")  # a glued value of this notebook, no format given


class TranslatableExerciseDirective(ExerciseDirective):
    def run(self):
        result = super().run()
        source, line = self.state_machine.get_source_and_line(self.lineno)
        for node in result:
            for subtitle in node.findall(exercise_subtitle):
                subtitle.rawsource = self.arguments[0]
                subtitle.source, subtitle.line = source, line
        return result


class ExposeSubtitlesToGettext(SphinxPostTransform):
    default_priority = 19  # before sphinx_exercise's ResolveTitlesInExercises (20)
    builders = ("gettext",)

    def run(self, **kwargs):
        for subtitle in list(self.document.findall(exercise_subtitle)):
            copy = nodes.paragraph(subtitle.rawsource, "", *[c.deepcopy() for c in subtitle.children])
            copy.source, copy.line = subtitle.source, subtitle.line
            copy.uid = getattr(subtitle, "uid", "")  # the catalogue skips nodes without one
            exercise = subtitle.parent.parent
            exercise.insert(exercise.index(subtitle.parent) + 1, copy)


class RegisterTranslatedExercises(SphinxTransform):
    """Point sphinx-exercise's registry at each exercise as translated by the Locale transform (20)."""

    default_priority = 25

    def apply(self, **kwargs):
        registry = getattr(self.env, "sphinx_exercise_registry", {})
        for node in self.document.findall(lambda n: isinstance(n, (exercise_node, exercise_enumerable_node))):
            if node.get("label") in registry:
                registry[node["label"]]["node"] = node.deepcopy()  # a copy, as sphinx-exercise keeps


class KeepGeneratedUntranslated(SphinxTransform):
    """Text inside `:::{div} no-translate` is neither extracted nor translated."""

    default_priority = 15  # before sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs):
        for box in self.document.findall(
            lambda n: isinstance(n, nodes.Element) and "no-translate" in n.get("classes", [])
        ):
            for node in box.findall(nodes.TextElement):
                node["translatable"] = False


class NotebookI18nReader(sphinx.io.SphinxI18nReader):
    """Sphinx's reader of one translated message. In a notebook's message, `{glue:text}`key`` becomes
    `{glue:text}`<this notebook>::key:s``: myst-nb's reference to a value glued in a notebook, filled in
    from the glue data it saved while reading the notebook, the same text node as on the English page."""

    def read(self, source, parser, settings):
        env = settings.env
        if env.doc2path(env.docname).endswith(".ipynb"):
            here = Path(env.doc2path(env.docname)).name
            source.source = GLUE_HERE.sub(rf"{{glue:text}}`{here}::\g<key>:s`", source.source)
        return super().read(source, parser, settings)


@functools.cache
def catalogue(path: Path) -> dict[str, str]:
    """A catalogue's translated messages, msgid -> msgstr."""
    with path.open("rb") as file:
        return {m.id: m.string for m in read_po(file) if m.id and m.string and not m.fuzzy}


def messages(app: Sphinx, domain: str) -> dict[str, str]:
    """The translated messages of `domain` (`figures` for figures.po) in the edition's language."""
    found = {}
    for folder in app.config.locale_dirs:
        path = Path(app.srcdir, folder, app.config.language, "LC_MESSAGES", f"{domain}.po")
        found.update(catalogue(path) if path.is_file() else {})
    return found


class TranslateInteractiveFigures(SphinxPostTransform):
    """A chapter's interactive figure in the page's language. Its script has its own Korean words; the words
    the chapter gave it (title, axis names) and the text shown until the script runs come from figures.po:
    the stored figure is drawn again with them (`tl.interactive.InteractiveFigure`)."""

    default_priority = 800
    formats = ("html",)

    def run(self, **kwargs):
        if (self.config.language or "en") == "en":
            return
        words = messages(self.app, "figures")
        for raw in list(self.document.findall(nodes.raw)):
            page = raw.astext()
            if 'class="tl-interactive"' not in page:
                continue
            figure = InteractiveFigure.from_html(page)
            data = {key: words.get(value, value) if key in WORDS else value for key, value in figure.data.items()}
            translated = dataclasses.replace(figure, title=words.get(figure.title, figure.title), data=data).to_html()
            translated = translated.replace(PLACEHOLDER, words.get(PLACEHOLDER, PLACEHOLDER))
            translated = translated.replace(' (interactive)"', f' ({words.get("interactive", "interactive")})"', 1)
            raw.replace(raw.children[0], nodes.Text(translated))


class TranslateCodeComments(SphinxPostTransform):
    """A chapter's code cells with their comments in the page's language, from code/<chapter>.po (book/
    translations.py extracts them); the code itself is kept character for character (code_comments.py)."""

    default_priority = 800

    def run(self, **kwargs):
        if (self.config.language or "en") == "en" or not self.env.docname.startswith("notebooks/"):
            return
        words = messages(self.app, f"code/{Path(self.env.docname).name}")
        for cell in (node for node in self.document.findall(nodes.container) if "cell_input" in node["classes"]):
            for block in cell.findall(nodes.literal_block):
                code = block.astext()
                translated = translate_comments(code, words, [])
                if translated != code:
                    block.rawsource = translated
                    block.replace(block.children[0], nodes.Text(translated))


# A tooltip or a label for screen readers, as written into a page.
LABEL = re.compile(r'\b(?P<attribute>title|aria-label)="(?P<text>[^"]*)"')


def translate_the_themes_written_words(app: Sphinx, exception: Exception | None) -> None:
    """sphinx-book-theme writes a few tooltips and screen-reader labels as they are, not through its catalogue
    ("Toggle primary sidebar", "Main" for the book's table of contents): in the written pages of a
    translated edition, each title or aria-label that is a message of booktheme.po becomes its translation."""
    language = app.config.language or "en"
    if exception is not None or language == "en" or app.builder.format != "html":
        return
    words = messages(app, "booktheme")
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf8")
        translated = LABEL.sub(lambda m: f'{m["attribute"]}="{words.get(m["text"], m["text"])}"', text)
        if translated != text:
            page.write_text(translated, encoding="utf8")


SEARCH_BOX = {"ko": "이 책에서 검색..."}


def configure_translation(app: Sphinx, config) -> None:
    language = config.language or "en"
    if language != "en":
        sphinx.io.SphinxI18nReader = NotebookI18nReader  # Locale's publish_msgstr imports it by this name
        config.html_theme_options["search_bar_text"] = SEARCH_BOX[language]


def translate_the_book_theme(app: Sphinx) -> None:
    """sphinx-book-theme's words ("Launch on", ...) that its own Korean catalogue lacks, from the book's
    booktheme.po, consulted after the theme's catalogue."""
    if (app.config.language or "en") != "en":
        folders = [str(Path(app.srcdir, folder)) for folder in app.config.locale_dirs]
        # Sphinx compiles the catalogues only after this event (but its own "sphinx"): compile this one now.
        for found in CatalogRepository(app.srcdir, app.config.locale_dirs, app.config.language, "utf-8").catalogs:
            if found.domain == "booktheme" and found.is_outdated():
                found.write_mo(app.config.language)
        sphinx.locale.init(folders, app.config.language, "booktheme")


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_exercise")
    app.add_directive("exercise", TranslatableExerciseDirective, override=True)
    app.add_post_transform(ExposeSubtitlesToGettext)
    app.add_post_transform(TranslateInteractiveFigures)
    app.add_post_transform(TranslateCodeComments)
    app.add_transform(RegisterTranslatedExercises)
    app.add_transform(KeepGeneratedUntranslated)
    app.connect("config-inited", configure_translation)
    app.connect("builder-inited", translate_the_book_theme)
    app.connect("build-finished", translate_the_themes_written_words)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
