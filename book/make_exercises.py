"""Write the learner's edition of every chapter: `make exercises` (or `python book/make_exercises.py`).

The chapter notebooks in notebooks/ hold the solutions; notebooks/README.md gives the markers. For
each one, exercises/<same name>.ipynb is written with every solution cut out: the `solution-start`
and `solution-end` cells and everything between them go, except code cells with
`# BEGIN SOLUTION hint: ...` / `# END SOLUTION` lines, whose marked lines become
`raise NotImplementedError(hint)`. Outputs are cleared, so the learner runs the notebook afresh.

`--check` writes nothing and exits 1, naming the files, if exercises/ differs from what it would write.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS, EDITION = ROOT / "notebooks", ROOT / "exercises"

SOLUTION_START = re.compile(r"\A```\{solution-start\}\s+(\S+)")
SOLUTION_END = re.compile(r"\A```\{solution-end\}")
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?: hint: (?P<hint>.+))?$", re.M)
END = re.compile(r"^[ \t]*# END SOLUTION$", re.M)
# An exercise cell: the MyST directive the book renders, which JupyterLab would show as raw text.
EXERCISE = re.compile(
    r"\A```\{exercise\}[ \t]+(?P<title>[^\n]+)\n(?::[\w-]+:[^\n]*\n)*\n*(?P<body>.*?)\n```\s*\Z", re.S
)

BANNER = """\
> **Learner's edition** of chapter "{title}". Each exercise at the end of the chapter is a stub that
> raises `NotImplementedError`: write it, then run the check under it. This file is generated from
> `notebooks/{name}` by `make exercises`; the book shows the same chapter with its solutions."""


def stub_out(source: str) -> str:
    """Replace every `# BEGIN SOLUTION` ... `# END SOLUTION` region by `raise NotImplementedError(hint)`."""
    out, inside = [], False
    for n, line in enumerate(source.splitlines(), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside:
                raise ValueError(f"line {n}: a second BEGIN SOLUTION before END SOLUTION")
            if not begin["hint"]:
                raise ValueError(f"line {n}: write the hint on the marker: `# BEGIN SOLUTION hint: ...`")
            out.append(
                f"{begin['indent']}raise NotImplementedError({'Your code here. Hint: ' + begin['hint'].strip()!r})"
            )
            inside = True
        elif end:
            if not inside:
                raise ValueError(f"line {n}: END SOLUTION without BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out)


def learner_edition(chapter: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The chapter with its solutions cut out and its outputs cleared."""
    edition = nbformat.v4.new_notebook(metadata=chapter.metadata)
    title = next(
        line[2:]
        for c in chapter.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("# ")
    )
    edition.cells.append(nbformat.v4.new_markdown_cell(BANNER.format(title=title, name=name)))
    in_solution, number = None, 0
    for n, cell in enumerate(chapter.cells):
        text = cell.source.strip()
        start = SOLUTION_START.match(text) if cell.cell_type == "markdown" else None
        if start:
            if in_solution:
                raise ValueError(f"{name}, cell {n}: solution of {start[1]} opens inside that of {in_solution}")
            in_solution = start[1]
            continue
        if cell.cell_type == "markdown" and SOLUTION_END.match(text):
            if not in_solution:
                raise ValueError(f"{name}, cell {n}: solution-end without solution-start")
            in_solution = None
            continue
        if in_solution and not (cell.cell_type == "code" and BEGIN.search(cell.source)):
            continue
        try:
            source = stub_out(cell.source) if cell.cell_type == "code" else cell.source
        except ValueError as problem:
            raise ValueError(f"{name}, cell {n}: {problem}") from None
        exercise = EXERCISE.match(source) if cell.cell_type == "markdown" else None
        if exercise:
            number += 1
            source = f"### Exercise {int(name[:2])}.{number}: {exercise['title'].strip()}\n\n{exercise['body']}"
        metadata = {"tags": cell.metadata["tags"]} if cell.metadata.get("tags") else {}  # no run timestamps
        if cell.cell_type == "code":
            edition.cells.append(nbformat.v4.new_code_cell(source, metadata=metadata))
        else:
            edition.cells.append(nbformat.v4.new_markdown_cell(source, metadata=metadata))
    if in_solution:
        raise ValueError(f"{name}: the solution of {in_solution} has no solution-end")
    for n, cell in enumerate(edition.cells):
        cell.id = f"cell-{n}"  # stable ids: the same chapter always gives the same file
    return edition


def render(path: Path) -> str:
    """The learner's edition of one chapter, as the text of its .ipynb file."""
    chapter = nbformat.read(path, as_version=4)
    return nbformat.writes(learner_edition(chapter, path.name)) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether exercises/ is up to date")
    args = parser.parse_args()
    chapters = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
    wanted = {EDITION / path.name: render(path) for path in chapters}
    present = set(EDITION.glob("*.ipynb"))
    stale = sorted(str(p.relative_to(ROOT)) for p, text in wanted.items() if not p.exists() or p.read_text() != text)
    extra = sorted(str(p.relative_to(ROOT)) for p in present - set(wanted))
    if args.check:
        if stale or extra:
            print("exercises/ is stale; run `make exercises`. Differs: " + ", ".join(stale + extra))
            return 1
        print(f"exercises/ is up to date ({len(wanted)} notebooks)")
        return 0
    EDITION.mkdir(exist_ok=True)
    for path, text in wanted.items():
        path.write_text(text)
    for name in extra:
        (ROOT / name).unlink()
    print(f"wrote the learner's edition of {len(wanted)} chapters into exercises/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
