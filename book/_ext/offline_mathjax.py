"""Serve MathJax from the book's own files, so that its equations typeset with no network.

Sphinx loads MathJax 3 from a CDN: a book opened from disk on a machine offline would show raw LaTeX.
The package django-static-mathjax (requirements.txt) ships the same MathJax release as files. This
extension points the pages at _static/mathjax/tex-mml-chtml.js and copies there that component and the
folders it loads from on demand (the TeX extensions, the fonts, the menu, the accessibility tools),
leaving out the package's ES6 sources and the other combined components.
"""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

COMPONENT = "tex-mml-chtml.js"
LOADED_ON_DEMAND = ("input", "output", "a11y", "ui", "sre", "adaptors")
TARGET = "mathjax"  # under _static


def use_local_mathjax(app: Sphinx, config: Config) -> None:
    config.mathjax_path = f"{TARGET}/{COMPONENT}"  # Sphinx reads a relative path as one under _static


def copy_mathjax(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / TARGET
    target.mkdir(parents=True, exist_ok=True)
    with importlib.resources.as_file(importlib.resources.files("mathjax") / "static" / "mathjax" / "es5") as es5:
        shutil.copy2(es5 / COMPONENT, target / COMPONENT)
        for folder in LOADED_ON_DEMAND:
            shutil.copytree(es5 / folder, target / folder, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
