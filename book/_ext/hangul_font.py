"""Hangul on every page, whatever fonts the reader's system has.

The Korean edition is Hangul throughout, and the English one shows Hangul too (the glossary's Korean
terms, chapter 13's Korean prompts, the button to the Korean edition). A system without a Hangul font
would draw boxes. The book ships NanumGothic, regular and bold, from the pinned koreanize-matplotlib
(the font the figures use): book/_static/hangul.css puts it, for Hangul only, right after the system
font, so a system font with Hangul of its own (macOS's) keeps drawing it, and after the monospace fonts,
which have no Hangul, for the code's Korean comments and the outputs' Korean text. The fonts are written
as WOFF, without the hinting editor's (VTT) source tables, whose empty TSI3 makes browsers reject the files.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fontTools.ttLib import TTFont
from sphinx.application import Sphinx

FONTS = ("NanumGothic", "NanumGothicBold")  # hangul.css: weight 400 and 700


def write_fonts(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = Path(importlib.util.find_spec("koreanize_matplotlib").submodule_search_locations[0]) / "fonts"
    target = Path(app.outdir) / "_static" / "fonts"
    target.mkdir(parents=True, exist_ok=True)
    for name in FONTS:
        font = TTFont(source / f"{name}.ttf")
        for table in [tag for tag in font.keys() if tag.startswith("TSI")]:
            del font[table]
        font.flavor = "woff"
        font.save(target / f"{name}.woff")


def setup(app: Sphinx) -> dict:
    app.add_css_file("hangul.css")  # in book/_static
    app.connect("build-finished", write_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
