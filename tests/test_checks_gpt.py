"""The chapter-11 checkers (next-token loss, GPT block): they accept correct code and name known mistakes."""

import re

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

import transformer_lab as tl
from transformer_lab.checks import check_gpt_block, check_next_token_loss, gpt
from transformer_lab.gpt import Block

# ----------------------------------------------------------------------------------------------------
# Correct implementations written differently from the package's
# ----------------------------------------------------------------------------------------------------


def loss_class_dim(logits, tokens):
    """F.cross_entropy with the classes on dim 1: (B, V, T - 1) against (B, T - 1), no flattening."""
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:])


def loss_gather(logits, tokens):
    """-log p of the next token, picked with gather, averaged by hand."""
    log_p = logits[:, :-1].log_softmax(-1)  # (B, T - 1, V)
    return -log_p.gather(-1, tokens[:, 1:, None]).mean()


def loss_einops_logsumexp(logits, tokens):
    """Flatten with einops, -log p = logsumexp(logits) - logit of the target."""
    flat = rearrange(logits[:, :-1], "b t v -> (b t) v")
    target = rearrange(tokens[:, 1:], "b t -> (b t)")
    return (flat.logsumexp(-1) - flat[torch.arange(len(target)), target]).mean()


class BlockLoop(Block):
    """The two residual steps as one loop over (norm, sublayer) pairs."""

    def forward(self, x, mask, rotary=None, kv_cache=None, is_causal=False):
        def attend(h):
            return self.attn(h, h, h, mask, rotary=rotary, kv_cache=kv_cache, is_causal=is_causal)

        for norm, sublayer in ((self.ln_1, attend), (self.ln_2, self.mlp)):
            x = x + sublayer(norm(x))
        return x


class BlockFunctionalNorm(Block):
    """F.layer_norm with the block's own parameters."""

    def _norm(self, ln, x):
        return F.layer_norm(x, (x.shape[-1],), ln.weight, ln.bias, ln.eps)

    def forward(self, x, mask, rotary=None, kv_cache=None, is_causal=False):
        h = self._norm(self.ln_1, x)
        x = x + self.attn(h, h, h, mask, rotary=rotary, kv_cache=kv_cache, is_causal=is_causal)
        return x + self.mlp(self._norm(self.ln_2, x))


class BlockOwnAttention(Block):
    """The right numbers, but attention written out with the projections: rotary and the cache never reach it."""

    def forward(self, x, mask, rotary=None, kv_cache=None, is_causal=False):
        a = self.attn
        h = self.ln_1(x)
        q, k, v = (rearrange(p(h), "b t (h d) -> b h t d", h=a.n_heads) for p in (a.q_proj, a.k_proj, a.v_proj))
        out, _ = tl.scaled_dot_product_attention(q, k, v, mask)  # (B, H, T, d_k)
        x = x + a.out_proj(rearrange(out, "b h t d -> b t (h d)"))
        return x + self.mlp(self.ln_2(x))


class BlockWithoutHint(Block):
    """The right numbers; rotary and the cache are passed on, the causal hint is not."""

    def forward(self, x, mask, rotary=None, kv_cache=None, is_causal=False):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, mask, rotary=rotary, kv_cache=kv_cache)
        return x + self.mlp(self.ln_2(x))


class BlockOldSignature(Block):
    """The right numbers, but forward takes no is_causal."""

    def forward(self, x, mask, rotary=None, kv_cache=None):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, mask, rotary=rotary, kv_cache=kv_cache)
        return x + self.mlp(self.ln_2(x))


CORRECT = {
    check_next_token_loss: [gpt._next_token_loss, loss_class_dim, loss_gather, loss_einops_logsumexp],
    check_gpt_block: [Block, BlockLoop, BlockFunctionalNorm],
}

MISTAKES = {
    check_next_token_loss: gpt.NEXT_TOKEN_LOSS_MISTAKES,
    check_gpt_block: gpt.GPT_BLOCK_MISTAKES,
}


def test_the_reference_is_the_loss_the_chapter_trains_with():
    """The checker's reference is tl.cross_entropy_loss on (tokens[:, :-1], tokens[:, 1:]) through a real GPT:
    by causality, the logits of the whole sequence at positions < T - 1 are the logits of its prefix."""
    tl.set_seed(0)
    model = tl.GPT(tl.GPTConfig(vocab_size=13, block_size=9, n_layers=1, n_heads=2, d_model=16)).eval()
    tokens = torch.randint(0, 13, (3, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        chapter = tl.cross_entropy_loss(model, (tokens[:, :-1], tokens[:, 1:]))
        ours = gpt._next_token_loss(model(tokens), tokens)
    torch.testing.assert_close(ours, chapter)


def test_wrong_types_are_explained():
    with pytest.raises(AssertionError, match=re.escape("`loss` is a float, not a torch.Tensor")):
        check_next_token_loss(lambda logits, tokens: gpt._next_token_loss(logits, tokens).item())
    with pytest.raises(AssertionError, match="a subclass of transformer_lab.gpt.Block"):
        check_gpt_block(tl.EncoderLayer)
    with pytest.raises(AssertionError, match="pass your function itself"):
        check_next_token_loss(Block)


@pytest.mark.parametrize(
    "cls, hint",
    [
        (BlockOwnAttention, "your forward never calls self.attn"),
        (BlockWithoutHint, "does not pass is_causal on to self.attn"),
        (BlockOldSignature, "Keep the package's signature"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_a_block_with_the_right_numbers_must_still_hand_its_arguments_to_attention(cls, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_gpt_block(cls)
