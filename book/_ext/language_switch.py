"""A link on every page to the same page in the book's other edition (English at _build/html,
Korean at _build/html/ko), in the article header before the theme's buttons, plus
<link rel="alternate" hreflang=...> in the page head."""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

# language of this build -> (the other edition's language, its root relative to this one's root, link text)
OTHER = {"en": ("ko", "ko/", "한국어"), "ko": ("en", "../", "English")}


def add_template(app: Sphinx, config) -> None:
    config.templates_path.append(str(Path(__file__).parent / "templates"))
    options = config.html_theme_options
    options["article_header_end"] = ["language-switch.html", "article-header-buttons.html"]


def link_other_edition(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    language, root, text = OTHER[app.config.language or "en"]
    up = "../" * pagename.count("/")
    url = f"{up}{root}{pagename}.html"
    context["language_switch"] = {"url": url, "text": text, "language": language}
    context["metatags"] = context.get("metatags", "") + f'\n<link rel="alternate" hreflang="{language}" href="{url}" />'


def setup(app: Sphinx) -> dict:
    app.add_css_file("editions.css")  # in book/_static: the button in the header's row
    app.connect("config-inited", add_template)
    app.connect("html-page-context", link_other_edition)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
