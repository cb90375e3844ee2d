"""Write each of a page's scripts once: Sphinx 7 writes some inline scripts twice.

An extension that adds an inline script after the builder has started gets it into every page twice:
Sphinx 7 keeps one copy under the file name None and another under "" (fixed in Sphinx 8.2,
sphinx-doc/sphinx#13402; Jupyter Book 1.x needs Sphinx 7). sphinx-thebe's inline script declares
`const THEBE_JS_URL`, and a second declaration is a SyntaxError in every reader's browser console.
This extension runs after the others have added their scripts and keeps the first copy of each.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)  # after every other extension's
    return {"parallel_read_safe": True, "parallel_write_safe": True}
