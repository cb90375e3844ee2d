"""Write the learner's editions of every chapter: `make exercises` (or `python book/make_exercises.py`).

The chapter notebooks in notebooks/ hold the solutions; notebooks/README.md gives the markers. For
each one, exercises/<same name>.ipynb is written with every solution cut out: the `solution-start`
and `solution-end` cells and everything between them go, except code cells with
`# BEGIN SOLUTION hint: ...` / `# END SOLUTION` lines, whose marked lines become
`raise NotImplementedError(hint)`. Outputs are cleared, so the learner runs the notebook afresh.

The Korean learner's edition, exercises_ko/<same name>.ipynb, is the same notebook with its markdown
translated from the Korean book's catalogues (locales/ko/, book/translations.py) and its diagrams
pointing at their Korean drawings. Its code cells are the English edition's with their comments in
Korean (locales/ko/LC_MESSAGES/code/), the exercises' hints too, and its checkers imported from
`transformer_lab.checks.ko`, which names the learner's mistakes in Korean; the code is otherwise the
English edition's, character for character. It sits beside exercises/ so that every relative path in
the chapters (figures, other chapters, the example scripts) works from both.

`--check` writes nothing and exits 1, naming the files, if either edition differs from what it would write.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import translations
from _ext.code_comments import translate_comments

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "notebooks"
EDITIONS = {"en": ROOT / "exercises", "ko": ROOT / "exercises_ko"}  # language -> folder

SOLUTION_START = re.compile(r"\A```\{solution-start\}\s+(\S+)")
SOLUTION_END = re.compile(r"\A```\{solution-end\}")
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?: hint: (?P<hint>.+))?$", re.M)
END = re.compile(r"^[ \t]*# END SOLUTION$", re.M)
# An exercise cell: the MyST directive the book renders, which JupyterLab would show as raw text.
EXERCISE = re.compile(
    r"\A```\{exercise\}[ \t]+(?P<title>[^\n]+)\n(?::[\w-]+:[^\n]*\n)*\n*(?P<body>.*?)\n```\s*\Z", re.S
)

BANNER = {
    "en": """\
> **Learner's edition** of chapter "{title}". Each exercise at the end of the chapter is a stub that
> raises `NotImplementedError`: write it, then run the check under it. This file is generated from
> `notebooks/{name}` by `make exercises`; the book shows the same chapter with its solutions.""",
    "ko": """\
> **학습자용 판**: "{title}" 장. 장 끝의 연습 문제는 각각 `NotImplementedError`를 일으키는 빈 코드로
> 되어 있다. 코드를 채운 뒤 그 아래의 확인 셀을 실행하라. 확인 함수는 `transformer_lab.checks.ko`에서
> 가져오므로 틀린 곳을 한국어로 짚어 준다. 이 파일은 `make exercises`가 `notebooks/{name}`와 한국어
> 카탈로그에서 만든다. 책은 같은 장을 풀이와 함께 보여 준다.""",
}
EXERCISE_HEADING = {"en": "Exercise", "ko": "연습"}
DIAGRAM = re.compile(r"(?P<path>\.\./book/figures/[\w-]+)\.svg")


YOUR_CODE = {"en": "Your code here. Hint: ", "ko": "여기에 코드를 쓰세요. 힌트: "}  # a stub's message, then its hint
CHECKERS = re.compile(r"^(?P<indent>[ \t]*)from transformer_lab\.checks import ", re.M)  # the checkers, in English


def stub_out(source: str, language: str = "en") -> str:
    """Replace every `# BEGIN SOLUTION` ... `# END SOLUTION` region by `raise NotImplementedError(hint)`."""
    out, inside = [], False
    for n, line in enumerate(source.splitlines(), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside:
                raise ValueError(f"line {n}: a second BEGIN SOLUTION before END SOLUTION")
            if not begin["hint"]:
                raise ValueError(f"line {n}: write the hint on the marker: `# BEGIN SOLUTION hint: ...`")
            out.append(f"{begin['indent']}raise NotImplementedError({YOUR_CODE[language] + begin['hint'].strip()!r})")
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


def drawing(path: str, language: str) -> str | None:
    """The diagram `../book/figures/<name>` drawn in `language`, if book/make_figures.py drew it."""
    drawn = f"{path}.{language}.svg"
    return drawn if (CHAPTERS / drawn).exists() else None


def translated(chapter: nbformat.NotebookNode, name: str, language: str) -> nbformat.NotebookNode:
    """The chapter with its markdown and its code's comments in `language` (from the book's catalogues), its
    diagrams drawn in it and its checkers speaking it (transformer_lab.checks.<language>); the rest of the code
    and the outputs as they are. Messages not yet translated stay English and are reported."""
    messages, missing = translations.catalogue(f"notebooks/{Path(name).stem}", language), []
    comments = translations.catalogue(f"code/{Path(name).stem}", language)
    chapter = nbformat.from_dict(chapter)  # a copy
    for cell in chapter.cells:
        if cell.cell_type == "markdown":
            cell.source = translations.translate_markdown(cell.source, messages, missing)
            cell.source = DIAGRAM.sub(lambda m: drawing(m["path"], language) or m[0], cell.source)
        elif cell.cell_type == "code":
            cell.source = translate_comments(cell.source, comments, missing)
            cell.source = CHECKERS.sub(rf"\g<indent>from transformer_lab.checks.{language} import ", cell.source)
    if missing:
        print(f"{name}: {len(missing)} messages not yet in {language} (make translations)", file=sys.stderr)
    return chapter


def learner_edition(chapter: nbformat.NotebookNode, name: str, language: str = "en") -> nbformat.NotebookNode:
    """The chapter with its solutions cut out and its outputs cleared."""
    if language != "en":
        chapter = translated(chapter, name, language)
    edition = nbformat.v4.new_notebook(metadata=chapter.metadata)
    title = next(
        line[2:]
        for c in chapter.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("# ")
    )
    edition.cells.append(nbformat.v4.new_markdown_cell(BANNER[language].format(title=title, name=name)))
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
            source = stub_out(cell.source, language) if cell.cell_type == "code" else cell.source
        except ValueError as problem:
            raise ValueError(f"{name}, cell {n}: {problem}") from None
        exercise = EXERCISE.match(source) if cell.cell_type == "markdown" else None
        if exercise:
            number += 1
            heading = f"### {EXERCISE_HEADING[language]} {int(name[:2])}.{number}: {exercise['title'].strip()}"
            source = f"{heading}\n\n{exercise['body']}"
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


def render(path: Path, language: str = "en") -> str:
    """The learner's edition of one chapter, as the text of its .ipynb file."""
    chapter = nbformat.read(path, as_version=4)
    return nbformat.writes(learner_edition(chapter, path.name, language)) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the learner's editions are up to date")
    args = parser.parse_args()
    chapters = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
    wanted = {folder / path.name: render(path, language) for language, folder in EDITIONS.items() for path in chapters}
    present = {path for folder in EDITIONS.values() for path in folder.glob("*.ipynb")}
    stale = sorted(str(p.relative_to(ROOT)) for p, text in wanted.items() if not p.exists() or p.read_text() != text)
    extra = sorted(str(p.relative_to(ROOT)) for p in present - set(wanted))
    if args.check:
        if stale or extra:
            print("the learner's editions are stale; run `make exercises`. Differs: " + ", ".join(stale + extra))
            return 1
        print(f"the learner's editions are up to date ({len(wanted)} notebooks)")
        return 0
    for path, text in wanted.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    for name in extra:
        (ROOT / name).unlink()
    folders = " and ".join(f"{folder.name}/" for folder in EDITIONS.values())
    print(f"wrote the learner's editions of {len(chapters)} chapters into {folders}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
