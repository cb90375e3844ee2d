"""Claims checked where they are made.

A chapter's result is stated by a line that holds on any machine, not by the last digits of one run:

    >>> claim("held-out exact match >= 99%", 0.9975, at_least=0.99)
    held-out exact match >= 99%: yes

A band (`at_least`, `at_most`, or both) comes from measurements over several seeds; the exact value
of this run is shown beside the claim with `show`, which MyST-NB glues into the book's prose and which
simply prints where the book's tools are not installed. When a run misses its band, `ClaimError`
says by how much, so a learner whose numbers differ from the book's sees why.
"""

from __future__ import annotations

import math


class ClaimError(AssertionError):
    """A measured result outside the band a chapter claims for it."""


def _band(at_least: float | None, at_most: float | None, fmt: str) -> str:
    if at_least is not None and at_most is not None:
        return f"between {fmt.format(at_least)} and {fmt.format(at_most)}"
    return f"at least {fmt.format(at_least)}" if at_most is None else f"at most {fmt.format(at_most)}"


def claim(
    statement: str, value: float, *, at_least: float | None = None, at_most: float | None = None, fmt: str = "{:.4g}"
) -> None:
    """Print "<statement>: yes" if value lies in the band [at_least, at_most]; raise ClaimError otherwise."""
    if at_least is None and at_most is None:
        raise ValueError("a claim needs a band: give at_least, at_most or both")
    if at_least is not None and at_most is not None and at_least > at_most:
        raise ValueError(f"an empty band: at_least={at_least} is above at_most={at_most}")
    value = float(value)
    if math.isnan(value):
        raise ClaimError(f"{statement}: no. The measured value is NaN: the run diverged or divided by zero.")
    if (at_least is not None and value < at_least) or (at_most is not None and value > at_most):
        raise ClaimError(
            f"{statement}: no. This run measured {fmt.format(value)}; the chapter claims "
            f"{_band(at_least, at_most, fmt)}, a band that held over the seeds and machines the book was "
            "checked on. Re-run the chapter from the top: a cell run out of order may have changed its inputs."
        )
    print(f"{statement}: yes")


def claim_that(statement: str, holds: bool) -> None:
    """Print "<statement>: yes" for a claim that is true or false, not measured (an ordering, an equality)."""
    if not bool(holds):  # a bool, a 0-d tensor or a numpy bool
        raise ClaimError(f"{statement}: no. This run contradicts the chapter's claim.")
    print(f"{statement}: yes")


def show(name: str, value, fmt: str = "{}") -> None:
    """Print "name = value", this run's exact value formatted with `fmt`.

    Where MyST-NB is installed (the book's build), the text is also glued under `name`, so the prose
    quotes it with {glue:text}`name` and a re-run updates prose and output together.
    """
    text = fmt.format(value)
    print(f"{name} = {text}")
    try:
        from myst_nb import glue
    except ImportError:
        return
    glue(name, text, display=False)
