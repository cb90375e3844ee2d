"""Interactive figures: attention you can hover, sampling you can tune, positions you can move.

Each function takes what a chapter computed (attention weights, next-token logits, position vectors),
prepares the numbers with the package's own functions, and returns an `InteractiveFigure`. In a
notebook it displays as HTML with a small script of the package's own (`common.js` and `attention.js`,
`sampling.js` or `positions.js` beside this file: no library, no network), so it works the same in JupyterLab, in
Colab and on the online book's pages opened from disk. Its `data` is a dict of plain numbers: a chapter
checks that, not the HTML. Chapters 5, 9 and 10 use them beside their static figures.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import torch

from ..generation import check_sampling_args, top_k_filter, top_p_filter
from ..positional import RotaryEmbedding, sinusoidal_encoding

DIGITS = 4  # numbers are stored rounded to 4 decimals: finer than any figure can show
# Shown until the figure's script runs, and where it never does (JupyterLab runs no script in outputs it has not
# seen made or been told to trust).
PLACEHOLDER = (
    "An interactive figure, drawn by a script: in JupyterLab once this cell has run in this session (or the notebook "
    "is trusted), in the online book as the page loads. The static figure above shows the same data."
)


# The figures' words that come from the chapter rather than the script: the title and, in `data`, these
# fields (the attention explorer's axes). The book's Korean edition translates them (book/_ext/i18n.py);
# the script has its own words.
WORDS = ("query_axis", "key_axis")
STORED = re.compile(r'data-kind="(?P<kind>\w+)".*?<script type="application/json">(?P<payload>.*?)</script>', re.S)


@dataclass(frozen=True)
class InteractiveFigure:
    """One interactive figure: its kind ("attention", "sampling" or "positions"), title and data."""

    kind: str
    title: str
    data: dict

    @classmethod
    def from_html(cls, page: str) -> InteractiveFigure:
        """The figure whose `to_html()` is in `page` (a notebook's stored output, say)."""
        found = STORED.search(page)
        if found is None:
            raise ValueError("page holds no interactive figure (no data-kind and JSON data written by to_html)")
        data = json.loads(found["payload"].replace("<\\/", "</"))
        return cls(found["kind"], data.pop("title"), data)

    def to_html(self) -> str:
        """The figure as one self-contained HTML fragment: a container, its data as JSON, its script."""
        payload = json.dumps({"title": self.title, **self.data}, separators=(",", ":"))
        element_id = f"tl-{self.kind}-{hashlib.sha1(payload.encode()).hexdigest()[:10]}"
        payload = payload.replace("</", "<\\/")  # the JSON may not close its <script> element
        assets = resources.files(__package__)
        style = assets.joinpath("interactive.css").read_text()
        script = assets.joinpath("common.js").read_text() + assets.joinpath(f"{self.kind}.js").read_text()
        return (
            f"<style>{style}</style>\n"
            f'<div class="tl-interactive" id="{element_id}" data-kind="{self.kind}" role="figure" '
            f'aria-label="{html.escape(self.title)} (interactive)">\n'
            f'<script type="application/json">{payload}</script>\n'
            f'<div class="tl-placeholder">{PLACEHOLDER}</div>\n</div>\n'
            f"<script>\n{script}\n"
            f"tlRender{self.kind.capitalize()}(document.currentScript.previousElementSibling);\n</script>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"InteractiveFigure(kind={self.kind!r}, title={self.title!r}): shown as HTML in a notebook or the book"


def _shape_of(x) -> str:  # for error messages, as in hugging_face.py (modules share no private names)
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__


def _rounded(x: torch.Tensor) -> list:
    return torch.round(x.detach().cpu().double(), decimals=DIGITS).tolist()


def _check_labels(name: str, labels: Sequence[str], expected: int, what: str) -> list[str]:
    if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
        raise TypeError(f"{name} must be a sequence of strings, one per {what}, got {labels!r:.80}")
    if len(labels) != expected:
        raise ValueError(f"{name} has {len(labels)} labels, but the weights have {expected} {what}s")
    return list(labels)


def attention_explorer(
    weights: torch.Tensor,
    *,
    query_labels: Sequence[str],
    key_labels: Sequence[str],
    title: str,
    query_axis: str = "queries",
    key_axis: str = "keys",
) -> InteractiveFigure:
    """Attention weights (L, H, T_q, T_k) of every layer and head, with the tokens' labels.

    Hover or click a query token to see how its weight spreads over the keys (and a key to see who
    reads it), for one head of one layer or their mean. Rows must sum to one, as softmax makes them.
    """
    if not isinstance(weights, torch.Tensor) or weights.dim() != 4:
        raise ValueError(f"weights must be a tensor (layers, heads, T_q, T_k), got {_shape_of(weights)}")
    L, H, T_q, T_k = weights.shape
    row_sums = weights.sum(-1)
    if (weights < 0).any() or not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-3):
        raise ValueError("each row of weights must be a softmax output: non-negative, summing to 1 over the keys")
    query_labels = _check_labels("query_labels", query_labels, T_q, "query")
    key_labels = _check_labels("key_labels", key_labels, T_k, "key")
    with_mean = torch.cat([weights, weights.mean(1, keepdim=True)], dim=1)  # (L, H + 1, T_q, T_k): the mean last
    data = dict(
        layers=L,
        heads=H,
        query_labels=query_labels,
        key_labels=key_labels,
        query_axis=query_axis,
        key_axis=key_axis,
        weights=_rounded(with_mean),
    )
    return InteractiveFigure("attention", title, data)


def sampling_distribution(
    logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """The distribution `tl.sample_next_token` draws from: logits (V,) -> probabilities (V,), zeros where cut."""
    check_sampling_args(temperature, top_k, top_p)
    z = logits[None] / temperature  # (1, V)
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    return torch.softmax(z, dim=-1)[0]  # (V,)


# Settings the page's script must reproduce: the browser test sets each one and compares with the package.
SAMPLING_REFERENCES = (
    dict(temperature=1.0, top_k=None, top_p=None),
    dict(temperature=0.5, top_k=None, top_p=None),
    dict(temperature=2.0, top_k=None, top_p=0.9),
    dict(temperature=1.0, top_k=3, top_p=None),
    dict(temperature=1.5, top_k=5, top_p=0.8),
)


def sampling_explorer(logits: torch.Tensor, *, labels: Sequence[str], title: str) -> InteractiveFigure:
    """One next-token distribution (logits (V,)) with sliders for temperature, top-k and top-p.

    The page recomputes the distribution as `tl.sample_next_token` would (temperature, then top-k, then
    top-p), and shows which tokens survive. `data["references"]` holds the package's own answer for a
    few settings, which the book's browser test checks the page against.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 1:
        raise ValueError(f"logits must be one row of next-token logits, shape (V,), got {_shape_of(logits)}")
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite: filter after the figure, not before (its sliders do the filtering)")
    labels = _check_labels("labels", labels, logits.shape[0], "token")
    logits = logits.detach().cpu().double()
    references = [
        dict(setting, probs=_rounded(sampling_distribution(logits, **setting))) for setting in SAMPLING_REFERENCES
    ]
    return InteractiveFigure("sampling", title, dict(labels=labels, logits=_rounded(logits), references=references))


def position_explorer(*, max_len: int, dim: int, q: torch.Tensor, k: torch.Tensor, title: str) -> InteractiveFigure:
    """Sinusoidal encodings against rotary embeddings, for positions 0..max_len-1 of width `dim`.

    For each position p and dimension pair i: the sinusoidal vector PE_p (added to the token) and a
    query q rotated by RoPE to position p; and the score of position p with every other position,
    PE_p . PE_n and RoPE's (R_p q) . (R_n k). Both come from the package (`tl.sinusoidal_encoding`,
    `tl.RotaryEmbedding`), for the chapter's own vectors q and k of size `dim`.
    """
    for name, value in (("max_len", max_len), ("dim", dim)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 2:
            raise ValueError(f"{name} must be an int >= 2, got {value!r}")
    if dim % 2:
        raise ValueError(f"dim must be even (dimensions come in pairs), got {dim}")
    for name, vector in (("q", q), ("k", k)):
        if not isinstance(vector, torch.Tensor) or tuple(vector.shape) != (dim,):
            raise ValueError(f"{name} must be a vector of size dim={dim}, got {_shape_of(vector)}")
    pe = sinusoidal_encoding(max_len, dim)  # (max_len, dim)
    rope = RotaryEmbedding(max_len=max_len, head_dim=dim)
    rotated_q = rope(q.detach().cpu().float().expand(max_len, dim))  # (max_len, dim): q at every position
    rotated_k = rope(k.detach().cpu().float().expand(max_len, dim))  # (max_len, dim)
    frequencies = [10000 ** (-2 * i / dim) for i in range(dim // 2)]  # omega_i = theta_i, the same for both
    data = dict(
        max_len=max_len,
        dim=dim,
        frequencies=[round(f, 8) for f in frequencies],
        periods=[round(2 * math.pi / f, 1) for f in frequencies],
        sinusoidal=_rounded(pe),
        sinusoidal_scores=_rounded(pe @ pe.T),  # (max_len, max_len)
        rotary=_rounded(rotated_q),
        rotary_scores=_rounded(rotated_q @ rotated_k.T),  # (max_len, max_len): query at p, key at n
    )
    return InteractiveFigure("positions", title, data)
