"""The claim helper: a line that says yes, or an error that shows the value and the band."""

import builtins
import math

import pytest
import torch

from transformer_lab.claims import ClaimError, claim, claim_that, show


def test_a_claim_in_its_band_prints_yes(capsys):
    claim("exact match >= 99%", 0.9975, at_least=0.99, fmt="{:.1%}")
    claim("loss <= 1.6", 1.5, at_most=1.6)
    claim("ratio between 2 and 5", 3.0, at_least=2, at_most=5)
    claim("on the edge", 0.99, at_least=0.99)
    assert capsys.readouterr().out.splitlines() == [
        "exact match >= 99%: yes",
        "loss <= 1.6: yes",
        "ratio between 2 and 5: yes",
        "on the edge: yes",
    ]


@pytest.mark.parametrize(
    "kwargs, band",
    [
        (dict(at_least=0.99), "at least 99.0%"),
        (dict(at_most=0.5), "at most 50.0%"),
        (dict(at_least=0.99, at_most=1.0), "between 99.0% and 100.0%"),
    ],
)
def test_a_missed_claim_shows_the_measured_value_and_the_band(kwargs, band, capsys):
    with pytest.raises(ClaimError) as err:
        claim("exact match", 0.875, fmt="{:.1%}", **kwargs)
    assert str(err.value).startswith("exact match: no. This run measured 87.5%; the chapter claims " + band)
    assert isinstance(err.value, AssertionError)  # a failed claim fails nbval's cell and pytest alike
    assert capsys.readouterr().out == ""


def test_nan_never_passes():
    with pytest.raises(ClaimError, match="NaN"):
        claim("loss <= 2", math.nan, at_most=2.0)


def test_a_claim_needs_a_band_that_is_not_empty():
    with pytest.raises(ValueError, match="needs a band"):
        claim("anything", 1.0)
    with pytest.raises(ValueError, match="empty band"):
        claim("anything", 1.0, at_least=2.0, at_most=1.0)


def test_claim_that_takes_booleans_and_tensors(capsys):
    claim_that("cached and uncached tokens are identical", torch.equal(torch.ones(3), torch.ones(3)))
    claim_that("attention beats the GRU", torch.tensor(True))
    assert capsys.readouterr().out.splitlines() == [
        "cached and uncached tokens are identical: yes",
        "attention beats the GRU: yes",
    ]
    with pytest.raises(ClaimError, match="attention beats the GRU: no"):
        claim_that("attention beats the GRU", torch.tensor(False))


def test_show_prints_where_myst_nb_is_absent(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    assert show("accuracy", 0.9975, "{:.2%}") is None  # nothing echoed as a cell's last line
    assert capsys.readouterr().out == "accuracy = 99.75%\n"


def test_show_prints_and_glues_with_myst_nb(monkeypatch, capsys):
    import myst_nb

    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: glued.append((name, value, display)))
    show("loss", 1.46612, "{:.3f}")
    assert glued == [("loss", "1.466", False)]  # the printed line is the cell's output; the glue feeds the prose
    assert capsys.readouterr().out == "loss = 1.466\n"
