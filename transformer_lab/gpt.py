"""Chapter 11 — A decoder-only GPT (GPT-2 style).

idx (B, T) -> token embedding + learned position -> n_layers pre-LN blocks (causal self-attention,
MLP) -> final LayerNorm -> linear head tied to the token embedding -> logits (B, T, V).
There is no encoder and no cross-attention: the model only ever predicts the next token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .attention import causal_mask
from .generation import check_sampling_args, sample_next_token
from .layers import FeedForward, LayerNorm, set_fast_path
from .multi_head import KVCache, MultiHeadAttention, check_heads
from .positional import LearnedPositionalEmbedding, RotaryEmbedding
from .tokenizer import check_token_ids


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int  # number of token ids
    block_size: int  # context length: the most tokens the model sees at once
    n_layers: int = 4  # transformer blocks
    n_heads: int = 4  # attention heads; must divide d_model
    d_model: int = 128  # width of the residual stream
    dropout: float = 0.0
    d_ff: int | None = None  # MLP hidden width; None: 4 * d_model as in GPT-2
    activation: str = "gelu_tanh"  # GPT-2 uses the tanh approximation of GELU
    layer_norm_eps: float = 1e-5
    positional: str = "learned"  # "learned" (GPT-2) or "rope" (rotary, as in LLaMA)
    tie_embeddings: bool = True  # the output head reuses the token embedding matrix

    def __post_init__(self):
        check_heads(self.d_model, self.n_heads)
        if self.positional not in ("learned", "rope"):
            raise ValueError(f"positional must be 'learned' or 'rope', got {self.positional!r}")


class Block(nn.Module):
    """A pre-LN block: x + attn(LN(x)), then x + mlp(LN(x))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.attn = MultiHeadAttention(d_model=cfg.d_model, n_heads=cfg.n_heads, dropout=cfg.dropout)
        self.ln_2 = LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.mlp = FeedForward(
            d_model=cfg.d_model, d_ff=cfg.d_ff or 4 * cfg.d_model, dropout=cfg.dropout, activation=cfg.activation
        )
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x, mask, rotary=None, kv_cache=None, is_causal=False):
        h = self.ln_1(x)
        attended = self.attn(h, h, h, mask, rotary=rotary, kv_cache=kv_cache, is_causal=is_causal)  # (B, T, D)
        x = x + self.dropout(attended)  # (B, T, D)
        x = x + self.dropout(self.mlp(self.ln_2(x)))  # (B, T, D)
        return x


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        cfg = self.config = config
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        if cfg.positional == "learned":
            self.wpe, self.rotary = LearnedPositionalEmbedding(max_len=cfg.block_size, d_model=cfg.d_model), None
        else:
            self.wpe, self.rotary = None, RotaryEmbedding(max_len=cfg.block_size, head_dim=cfg.d_model // cfg.n_heads)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: shrink the projections that write into the residual stream
            for proj in (block.attn.out_proj, block.mlp.linear2):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * cfg.n_layers))
        if cfg.tie_embeddings:
            self.lm_head.weight = self.wte.weight
        set_fast_path(self, True)  # fused kernels by default, as Hugging Face's GPT-2 (its "sdpa" attention)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor, *, kv_caches: list[KVCache] | None = None) -> torch.Tensor:
        """idx (B, T) -> logits (B, T, V). With kv_caches (one per block), idx holds only the new tokens."""
        return self.lm_head(self.hidden_states(idx, kv_caches=kv_caches))  # (B, T, V)

    def hidden_states(self, idx: torch.Tensor, *, kv_caches: list[KVCache] | None = None) -> torch.Tensor:
        """idx (B, T) -> the final LayerNorm's output (B, T, D), what the head reads (and chapter 13 reuses)."""
        check_token_ids(idx, self.config.vocab_size)
        if idx.dim() != 2:
            raise ValueError(f"token ids must have shape (B, T), got {tuple(idx.shape)}")
        past = 0 if kv_caches is None else len(kv_caches[0])
        T = idx.shape[1]
        if past + T > self.config.block_size:
            raise ValueError(
                f"sequence of {past + T} tokens is longer than the context block_size={self.config.block_size}"
            )
        x = self.wte(idx)  # (B, T, D)
        if self.wpe is not None:
            x = self.wpe(x, start=past)
        x = self.drop(x)
        # (T, past + T): new tokens see the past. A single new token may see every position: no mask.
        mask = None if T == 1 else causal_mask(past + T, device=idx.device)[past:]
        is_causal = mask is not None and past == 0  # then mask is causal_mask(T): a hint for the fast path
        for i, block in enumerate(self.blocks):
            cache = None if kv_caches is None else kv_caches[i]
            x = block(x, mask, rotary=self.rotary, kv_cache=cache, is_causal=is_causal)
        return self.ln_f(x)  # (B, T, D)

    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        *,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Append max_new_tokens tokens to idx (B, T) -> (B, T + max_new_tokens).

        Without the cache every step re-reads the last block_size tokens. With it, the prompt is
        read once and each step feeds only the newest token; when the context is full the cache
        is rebuilt from the last block_size tokens, which is exactly what the uncached path reads.

        It runs under torch.inference_mode(), a stricter torch.no_grad() that also skips autograd's
        bookkeeping on every tensor made (version counters, views), which is a visible share of a step
        made of a few hundred small operators. Tensors made there can never enter autograd, so the
        ids are returned as an ordinary copy, ready to train on.
        """
        check_sampling_args(temperature, top_k, top_p)
        check_token_ids(idx, self.config.vocab_size)
        block_size = self.config.block_size
        caches = None
        with torch.inference_mode():
            for _ in range(max_new_tokens):
                context = idx[:, -block_size:]  # (B, <= block_size)
                if not use_cache:
                    logits = self(context)
                elif caches is None or len(caches[0]) + 1 > block_size:
                    caches = [KVCache() for _ in self.blocks]
                    logits = self(context, kv_caches=caches)
                else:
                    logits = self(idx[:, -1:], kv_caches=caches)  # (B, 1, V)
                next_id = sample_next_token(
                    logits[:, -1],
                    do_sample=do_sample,
                    temperature=temperature,
                    top_k=top_k,
                    top_p=top_p,
                    generator=generator,
                )
                idx = torch.cat([idx, next_id], dim=1)  # (B, T + 1)
        return idx.clone()  # an ordinary tensor: the clone of an inference tensor, made outside inference mode

    @classmethod
    def from_hf(cls, model) -> GPT:
        """A GPT with the weights of a Hugging Face `transformers.GPT2LMHeadModel` (hugging_face.gpt_from_hf)."""
        from .hugging_face import gpt_from_hf  # chapter 14's module, which imports this one

        return gpt_from_hf(model)

    def to_hf(self):
        """A `transformers.GPT2LMHeadModel` with this model's weights (hugging_face.gpt_to_hf)."""
        from .hugging_face import gpt_to_hf

        return gpt_to_hf(self)
