"""The exercises: every chapter has them, the learner's editions are current, solutions pass, stubs fail.

The markers are described in notebooks/README.md and cut by book/make_exercises.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EDITIONS = {"en": "exercises", "ko": "exercises_ko"}  # the learner's editions by language (book/make_exercises.py)
EXERCISE = re.compile(r"\A```\{exercise\}\s+(?P<title>.+)\n:label:\s+(?P<label>ex-(?P<chapter>\d\d)-[a-z0-9-]+)\n")
HEADER = re.compile(
    r"^\*(?P<kind>Implement it|Predict, then run|Experiment) · (?P<stars>★☆☆|★★☆|★★★) · about \d+ minutes\*$", re.M
)
SOLUTION_START = re.compile(r"\A```\{solution-start\}\s+(\S+)\n:class: dropdown\n```\Z")
SOLUTION_END = re.compile(r"\A```\{solution-end\}\n```\Z")
STUB = re.compile(r"raise NotImplementedError\((['\"])(Your code here\. Hint|여기에 코드를 쓰세요\. 힌트): ")
CHECK_CALL = re.compile(r"\A(from transformer_lab\.checks import check_\w+\n)?check_\w+\(\w+\)\Z")


@dataclass
class Exercise:
    label: str
    kind: str
    solution: list  # the cells between solution-start and solution-end
    after: object  # the cell right after solution-end


def exercises(chapter: nbformat.NotebookNode) -> list[Exercise]:
    cells, found, n = chapter.cells, [], 0
    headed = {}
    for cell in cells:
        head = EXERCISE.match(cell.source) if cell.cell_type == "markdown" else None
        if head:
            kind = HEADER.search(cell.source)
            assert kind, f"{head['label']}: the first line must be *Kind · ★☆☆ · about N minutes*"
            headed[head["label"]] = kind["kind"]
    while n < len(cells):
        start = SOLUTION_START.match(cells[n].source.strip()) if cells[n].cell_type == "markdown" else None
        if start:
            end = next(m for m in range(n + 1, len(cells)) if SOLUTION_END.match(cells[m].source.strip()))
            label = start[1]
            assert label in headed, f"solution of {label} has no exercise"
            found.append(
                Exercise(label, headed.pop(label), cells[n + 1 : end], cells[end + 1] if end + 1 < len(cells) else None)
            )
            n = end
        n += 1
    assert not headed, f"exercises without a solution: {sorted(headed)}"
    return found


def marked(ex: Exercise) -> list:
    return [c for c in ex.solution if c.cell_type == "code" and "# BEGIN SOLUTION" in c.source]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_chapter_has_three_kinds_of_exercise(path):
    chapter = nbformat.read(path, as_version=4)
    found = exercises(chapter)
    assert len(found) >= 3, f"{path.name}: {len(found)} exercises, at least 3 wanted"
    assert all(ex.label.startswith(f"ex-{path.name[:2]}-") for ex in found), (
        "labels are ex-NN-... with the chapter's NN"
    )
    headings = [c.source for c in chapter.cells if c.cell_type == "markdown" and c.source.startswith("## Exercises")]
    assert headings, f"{path.name}: the exercises sit under a heading `## Exercises`"
    for ex in found:
        if ex.kind == "Implement it":
            assert len(marked(ex)) == 1, f"{ex.label}: one code cell with BEGIN/END SOLUTION markers"
            assert ex.after is not None and ex.after.cell_type == "code", (
                f"{ex.label}: a checker call follows the solution"
            )
            assert CHECK_CALL.match(ex.after.source.strip()), (
                f"{ex.label}: the cell after the solution is `check_...(name)`, after at most its import"
            )


def test_the_learners_edition_is_up_to_date():
    result = subprocess.run(
        [sys.executable, "book/make_exercises.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _outputs_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _errors(cell) -> list:
    return [o for o in cell.outputs if o.output_type == "error"]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_solutions_pass_and_stubs_fail_their_checkers(path):
    """In a kernel that ran only the set-up cell: each solution passes its checker, and each stub of both
    learner's editions (English and Korean) fails the checker of its edition, which says so in its language."""
    chapter = nbformat.read(path, as_version=4)
    implement = [ex for ex in exercises(chapter) if ex.kind == "Implement it"]
    if not implement:
        pytest.skip(f"{path.name} has no implement-it exercise")
    # A learner's edition keeps every marked cell, in order, as a stub: pair them up by position.
    solutions = [(ex, cell) for ex in exercises(chapter) for cell in marked(ex)]
    editions = {}
    for language, folder in EDITIONS.items():
        learner = nbformat.read(ROOT / folder / path.name, as_version=4)
        code = [c for c in learner.cells if c.cell_type == "code"]
        code.append(None)  # after the last cell
        stub_cells = [(c, code[n + 1]) for n, c in enumerate(code[:-1]) if STUB.search(c.source)]  # (stub, next cell)
        assert len(stub_cells) == len(solutions), f"{folder}/{path.name}: {len(stub_cells)} stubs for {len(solutions)}"
        stubs = {ex.label: stub for (ex, _), stub in zip(solutions, stub_cells) if ex.kind == "Implement it"}
        assert all("# BEGIN SOLUTION" not in stub.source for stub, _ in stubs.values())
        editions[language] = stubs

    setup = next(c for c in chapter.cells if c.cell_type == "code")
    cells = [setup]
    for ex in implement:
        cells += [marked(ex)[0], ex.after]
    stub_runs = []  # (exercise, language), one per stub and its check, in the order they run
    for language, stubs in editions.items():
        for ex in implement:
            stub, check = stubs[ex.label]
            checkers = "transformer_lab.checks " if language == "en" else f"transformer_lab.checks.{language} "
            assert check.source == ex.after.source.replace("transformer_lab.checks ", checkers), (
                f"{ex.label}: the check under the {language} stub is not the chapter's, in its language"
            )
            cells += [stub, check]
            stub_runs.append((ex, language))
    run = nbformat.v4.new_notebook(metadata=chapter.metadata)
    run.cells = [nbformat.v4.new_code_cell(c.source) for c in cells]
    NotebookClient(
        run, timeout=600, allow_errors=True, resources={"metadata": {"path": str(ROOT / "notebooks")}}
    ).execute()
    assert not _errors(run.cells[0]), "the set-up cell failed"
    n = len(implement)
    for ex, solution, check in zip(implement, run.cells[1 : 1 + 2 * n : 2], run.cells[2 : 2 + 2 * n : 2]):
        assert not _errors(solution), f"{ex.label}: the solution cell raised {_errors(solution)}"
        assert not _errors(check), f"{ex.label}: the solution fails its checker: {_errors(check)[0].evalue}"
        assert _outputs_text(check).startswith("✓ "), f"{ex.label}: the checker printed {_outputs_text(check)!r}"
    for (ex, language), stub, check in zip(stub_runs, run.cells[1 + 2 * n :: 2], run.cells[2 + 2 * n :: 2]):
        assert not _errors(stub), f"{ex.label}: defining the stub raised {_errors(stub)}"
        failures = _errors(check)
        assert failures and failures[0].ename == "AssertionError", f"{ex.label}: the stub passed its checker"
        message = failures[0].evalue
        assert "NotImplementedError" in message, message
        assert "not implemented yet" in message if language == "en" else re.search("[가-힣]", message), message
