"""Chapter 15 — What a training step costs: the FLOPs behind model FLOPs utilisation (MFU).

A matrix product of (m, k) by (k, n) does m·k·n multiply-adds, 2·m·k·n floating-point operations
(FLOPs). Counting them for one token of a GPT gives the standard estimate (Kaplan et al., 2020;
PaLM, Chowdhery et al., 2022, appendix B):

    FLOPs per trained token = 6 N + 12 L T D

MFU is then tokens per second times this count, divided by the FLOP rate the hardware can reach.
"""

from __future__ import annotations

from .gpt import GPT


def non_embedding_parameters(model: GPT) -> int:
    """N of Kaplan et al.: every parameter except the two embedding tables `wte` and `wpe` (a lookup does
    no arithmetic). With tied weights the head is `wte`, so it is not counted either; an untied head
    (tie_embeddings=False) is a parameter of its own, and is."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith(("wte.", "wpe.")))


def training_flops_per_token(model: GPT) -> int:
    """The FLOPs of training on one token (forward and backward pass): 6 N + 12 L T D.

    N is the number of parameters other than the two embedding tables `wte` and `wpe` (Kaplan et al.'s
    "non-embedding" parameters; a lookup does no arithmetic). Each of them does one multiply-add per
    token in the forward pass (2 FLOPs) and two in the backward pass, one for the gradient of the
    input and one for its own gradient (4 FLOPs): 6 N. Attention's two products have no parameters:
    each token's query meets the T keys (q·k) and its weights meet the T values, T·D multiply-adds
    each per layer, so 4 L T D forward and 12 L T D with the backward. L is n_layers, D is d_model and
    T is the context block_size, counted in full although the causal mask makes half of the scores
    unused. The head's multiply (2 V D FLOPs per token forward) is real work, but Kaplan et al. leave it
    out with the embeddings, and with tied weights the head is the token table `wte`, so it is not
    counted: a few percent of a step for this course's small vocabularies, but 6 V D is over a third
    of the count for GPT-2 small's 50,257 tokens.
    """
    cfg = model.config
    return 6 * non_embedding_parameters(model) + 12 * cfg.n_layers * cfg.block_size * cfg.d_model
