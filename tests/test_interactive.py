"""Interactive figures: the data they carry comes from the package, their HTML is self-contained, bad input
is refused. What the page's script does with the data is tested in a real browser (test_browser.py)."""

import json
import re
from pathlib import Path

import nbformat
import pytest
import torch

import transformer_lab as tl
from transformer_lab.interactive import SAMPLING_REFERENCES, InteractiveFigure, sampling_distribution

ROUNDING = 6e-5  # the figures store 4 decimals: at most 5e-5 off, plus float32's own rounding


def attention_weights(L=2, H=3, T_q=4, T_k=5):
    return torch.softmax(torch.randn(L, H, T_q, T_k), dim=-1)


def embedded_data(figure) -> dict:
    match = re.search(r'<script type="application/json">(.*?)</script>', figure.to_html(), re.S)
    return json.loads(match.group(1))


def test_attention_explorer_adds_the_mean_of_the_heads():
    w = attention_weights()
    figure = tl.interactive.attention_explorer(w, query_labels=list("abcd"), key_labels=list("vwxyz"), title="t")
    stored = torch.tensor(figure.data["weights"])  # (L, H + 1, T_q, T_k)
    assert stored.shape == (2, 4, 4, 5) and figure.data["layers"] == 2 and figure.data["heads"] == 3
    torch.testing.assert_close(stored[:, :3].float(), w, atol=ROUNDING, rtol=0)
    torch.testing.assert_close(stored[:, 3].float(), w.mean(1), atol=ROUNDING, rtol=0)


@pytest.mark.parametrize(
    "weights, query_labels, message",
    [
        (torch.rand(3, 4, 5), list("abcd"), "layers, heads, T_q, T_k"),
        (torch.rand(1, 1, 4, 5), list("abcd"), "softmax output"),
        (attention_weights(), list("abc"), "query_labels has 3 labels"),
    ],
)
def test_attention_explorer_refuses_bad_input(weights, query_labels, message):
    with pytest.raises(ValueError, match=message):
        tl.interactive.attention_explorer(weights, query_labels=query_labels, key_labels=list("vwxyz"), title="t")


def test_attention_labels_must_be_strings():
    with pytest.raises(TypeError, match="sequence of strings"):
        tl.interactive.attention_explorer(attention_weights(), query_labels="abcd", key_labels=list("vwxyz"), title="t")


def test_sampling_distribution_is_what_sample_next_token_draws_from():
    logits = torch.randn(12) * 2
    for setting in SAMPLING_REFERENCES:
        probs = sampling_distribution(logits, **setting)
        generator = torch.Generator().manual_seed(0)
        draws = torch.cat(
            [tl.sample_next_token(logits[None], do_sample=True, generator=generator, **setting) for _ in range(4000)]
        )
        counts = torch.bincount(draws.flatten(), minlength=12) / 4000
        assert (counts[probs == 0] == 0).all(), setting  # a token the distribution cuts is never drawn
        assert (counts - probs).abs().max() < 0.04, setting  # 4000 draws: a standard error of at most 0.008


def test_sampling_explorer_stores_the_packages_answers():
    logits = torch.randn(15)
    figure = tl.interactive.sampling_explorer(logits, labels=[str(i) for i in range(15)], title="t")
    assert [{k: r[k] for k in ("temperature", "top_k", "top_p")} for r in figure.data["references"]] == list(
        SAMPLING_REFERENCES
    )
    for reference in figure.data["references"]:
        setting = {k: reference[k] for k in ("temperature", "top_k", "top_p")}
        expected = sampling_distribution(logits.double(), **setting)
        torch.testing.assert_close(torch.tensor(reference["probs"]), expected.float(), atol=ROUNDING, rtol=0)
    assert sum(p > 0 for p in figure.data["references"][3]["probs"]) == 3  # top-k 3


@pytest.mark.parametrize(
    "logits, labels, error, message",
    [
        (torch.randn(2, 5), list("abcde"), ValueError, "shape \\(V,\\)"),
        (torch.tensor([0.0, float("-inf"), 1.0]), list("abc"), ValueError, "finite"),
        (torch.randn(5), list("abcd"), ValueError, "labels has 4 labels"),
        (torch.randn(5), [1, 2, 3, 4, 5], TypeError, "sequence of strings"),
    ],
)
def test_sampling_explorer_refuses_bad_input(logits, labels, error, message):
    with pytest.raises(error, match=message):
        tl.interactive.sampling_explorer(logits, labels=labels, title="t")


def test_position_explorer_scores_depend_on_the_offset_only():
    q, k = torch.randn(8), torch.randn(8)
    figure = tl.interactive.position_explorer(max_len=20, dim=8, q=q, k=k, title="t")
    pe = torch.tensor(figure.data["sinusoidal"])
    torch.testing.assert_close(pe.float(), tl.sinusoidal_encoding(20, 8), atol=ROUNDING, rtol=0)
    for name in ("sinusoidal_scores", "rotary_scores"):
        scores = torch.tensor(figure.data[name])  # (20, 20)
        assert (scores[1:, 1:] - scores[:-1, :-1]).abs().max() < 1e-3, name
    rotary = torch.tensor(figure.data["rotary"])  # q turned to each position: its length never changes
    torch.testing.assert_close(rotary.norm(dim=-1), q.norm().expand(20), atol=1e-3, rtol=0)
    assert figure.data["frequencies"][0] == 1.0 and len(figure.data["periods"]) == 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(max_len=20, dim=7), "dim must be even"),
        (dict(max_len=1, dim=8), "max_len must be an int >= 2"),
        (dict(max_len=20, dim=8, q=torch.randn(6)), "q must be a vector of size dim=8"),
    ],
)
def test_position_explorer_refuses_bad_input(kwargs, message):
    args = dict(q=torch.randn(kwargs["dim"] if kwargs["dim"] % 2 == 0 else 8), k=torch.randn(8), title="t") | kwargs
    with pytest.raises(ValueError, match=message):
        tl.interactive.position_explorer(**args)


def test_html_is_self_contained_and_carries_the_data():
    figure = tl.interactive.sampling_explorer(torch.randn(4), labels=["a", "</script>", "c", "d"], title="t")
    page = figure.to_html()
    assert page == figure._repr_html_() == figure.to_html()  # the same data gives the same element id
    assert embedded_data(figure)["labels"][1] == "</script>"  # escaped inside the JSON, restored by the parser
    assert not re.search(r"""(src|href)\s*=|@import|url\(|fetch\(|import\(""", page), "the figure loads nothing"
    assert page.count('class="tl-interactive"') == 1 and "tlRenderSampling(" in page
    assert "InteractiveFigure(kind='sampling'" in repr(figure)


def test_a_figure_reads_back_from_its_html():
    figure = tl.interactive.attention_explorer(
        attention_weights(), query_labels=list("abcd"), key_labels=["v", "w", "</script>", "y", "z"], title="t"
    )
    assert InteractiveFigure.from_html(figure.to_html()) == figure
    with pytest.raises(ValueError, match="no interactive figure"):
        InteractiveFigure.from_html("<div>a plain output</div>")


CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_the_chapters_store_their_figures_with_the_current_script(path):
    """A stored figure is what the package draws now: after a change to a figure's script, re-run the chapter
    (the book shows the stored output, the Korean edition draws it again with the package's script)."""
    chapter = nbformat.read(path, as_version=4)
    pages = [
        output["data"]["text/html"]
        for cell in chapter.cells
        for output in cell.get("outputs", [])
        if 'class="tl-interactive"' in output.get("data", {}).get("text/html", "")
    ]
    for page in pages:
        assert InteractiveFigure.from_html(page).to_html() == page, f"{path.name}: a figure drawn by an older script"
