"""Build the book in both its editions: `make book` (or `python book/make_book.py`).

The English book is built from _config.yml into _build/html. The Korean book (한국어판) is built from the
same pages with a copy of _config.yml that adds `language: ko` and the catalogues in locales/ (Sphinx's
standard translation: each English paragraph, heading, caption and alt text is replaced by its Korean
message), and lands in _build/html/ko, so that every page links to the same page of the other edition
(book/_ext/language_switch.py). Both builds are strict: a warning fails them.

`--language ko --output DIR` builds one edition into DIR/_build/html (the tests do this).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "ko")
TITLES = {"en": "Transformer Lab", "ko": "Transformer Lab 한국어판"}


def edition_config(language: str, folder: Path) -> Path:
    """_config.yml for one edition, written into `folder` (the English one is _config.yml itself)."""
    if language == "en":
        return ROOT / "_config.yml"
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    config["title"] = TITLES[language]
    sphinx = config["sphinx"]
    # paths in a Jupyter Book config are relative to the config file's folder: make them absolute
    sphinx["local_extensions"] = {name: str(ROOT / path) for name, path in sphinx["local_extensions"].items()}
    sphinx["config"].update(language=language, locale_dirs=[str(ROOT / "locales")])
    path = folder / f"_config.{language}.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf8")
    return path


def command(language: str, output: Path, *, builder: str = "html") -> list[str]:
    """The Jupyter Book command that builds one edition into output/_build/<builder>."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    output.mkdir(parents=True, exist_ok=True)
    argv = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "-W", "-n", "--keep-going"]
    argv += ["--config", str(edition_config(language, output)), "--path-output", str(output)]
    if builder != "html":
        argv += ["--builder", "custom", "--custom-builder", builder]
    return argv


def build(language: str, output: Path, *, builder: str = "html") -> subprocess.CompletedProcess:
    """Build one edition into output/_build/<builder>; the log is in the result."""
    return subprocess.run(command(language, output, builder=builder), capture_output=True, text=True, timeout=900)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=LANGUAGES, help="build only this edition")
    parser.add_argument("--output", type=Path, help="with --language: build into OUTPUT/_build/html")
    args = parser.parse_args()
    if args.language and args.output:
        jobs = [(args.language, args.output)]
    else:
        jobs = [
            (language, ROOT if language == "en" else ROOT / "_build" / language)
            for language in ([args.language] if args.language else LANGUAGES)
        ]
    for language, output in jobs:
        print(f"building the {language} edition ...", flush=True)
        result = build(language, output)
        if result.returncode:
            print(result.stdout[-3000:] + result.stderr[-3000:])
            return result.returncode
        site = output / "_build" / "html"
        if language != "en" and not args.output:  # beside the English one, as the language button expects
            site = ROOT / "_build" / "html" / language
            shutil.rmtree(site, ignore_errors=True)
            shutil.copytree(output / "_build" / "html", site)
        print(f"the {language} edition is in {site}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
