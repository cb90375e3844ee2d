"""Chapter 11 — A decoder-only GPT (GPT-2 style).

idx (B, T) -> token embedding + learned position -> n_layer pre-LN blocks (causal self-attention,
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
from .layers import FeedForward, LayerNorm
from .multi_head import KVCache, MultiHeadAttention
from .positional import LearnedPositionalEmbedding, RotaryEmbedding
from .tokenizer import check_token_ids


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int  # number of token ids
    block_size: int  # context length: the most tokens the model sees at once
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads; must divide d_model
    d_model: int = 128  # width of the residual stream
    dropout: float = 0.0
    d_ff: int | None = None  # MLP hidden width; None: 4 * d_model as in GPT-2
    activation: str = "gelu_tanh"  # GPT-2 uses the tanh approximation of GELU
    layer_norm_eps: float = 1e-5
    position: str = "learned"  # "learned" (GPT-2) or "rope" (rotary, as in LLaMA)
    tie_weights: bool = True  # the output head reuses the token embedding matrix

    def __post_init__(self):
        if self.d_model % self.n_head != 0:
            raise ValueError(f"n_head={self.n_head} does not divide d_model={self.d_model}")
        if self.position not in ("learned", "rope"):
            raise ValueError(f"position must be 'learned' or 'rope', got {self.position!r}")


class Block(nn.Module):
    """A pre-LN block: x + attn(LN(x)), then x + mlp(LN(x))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.attn = MultiHeadAttention(cfg.d_model, cfg.n_head, cfg.dropout)
        self.ln_2 = LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.mlp = FeedForward(cfg.d_model, cfg.d_ff or 4 * cfg.d_model, cfg.dropout, cfg.activation)
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
        if cfg.position == "learned":
            self.wpe, self.rotary = LearnedPositionalEmbedding(cfg.block_size, cfg.d_model), None
        else:
            self.wpe, self.rotary = None, RotaryEmbedding(cfg.d_model // cfg.n_head, cfg.block_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: shrink the projections that write into the residual stream
            for proj in (block.attn.out_proj, block.mlp.linear2):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))
        if cfg.tie_weights:
            self.lm_head.weight = self.wte.weight
        self.set_fast_path(True)  # fused kernels by default, as Hugging Face's GPT-2 (its "sdpa" attention)

    def set_fast_path(self, enabled: bool = True) -> "GPT":
        """True (the default of a new GPT): fused kernels, one matmul for q, k and v, PyTorch's attention
        kernel (told is_causal=True for the causal mask, so it skips the masked half, under torch.compile
        too) and F.layer_norm in every block; no attention weights are kept. False: the teaching path of
        chapters 3-6, every step written out, each attention layer keeping its weights for plotting.
        Same numbers up to float rounding (chapter 15)."""
        for module in self.modules():
            if isinstance(module, (MultiHeadAttention, LayerNorm)):
                module.use_fast_path = enabled
        return self

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
                    logits[:, -1], do_sample=do_sample, temperature=temperature, top_k=top_k, top_p=top_p,
                    generator=generator,
                )  # fmt: skip
                idx = torch.cat([idx, next_id], dim=1)  # (B, T + 1)
        return idx.clone()  # an ordinary tensor: the clone of an inference tensor, made outside inference mode

    @classmethod
    def from_hf(cls, model) -> "GPT":
        """Build a GPT with the weights of a Hugging Face `transformers.GPT2LMHeadModel`.

        GPT-2 stores its projections in `Conv1D` layers, y = x @ W + b with W of shape (in, out):
        the transpose of nn.Linear's weight (see linear_from_conv1d). Its attention projection c_attn
        holds q, k and v side by side.
        """
        hf = model.config
        unsupported = {
            "scale_attn_by_inverse_layer_idx": getattr(hf, "scale_attn_by_inverse_layer_idx", False),
            "reorder_and_upcast_attn": getattr(hf, "reorder_and_upcast_attn", False),
            "add_cross_attention": getattr(hf, "add_cross_attention", False),
            "scale_attn_weights=False": not getattr(hf, "scale_attn_weights", True),
        }
        for option, used in unsupported.items():
            if used:
                raise ValueError(f"GPT.from_hf does not implement the GPT-2 option {option}")
        if hf.activation_function not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(
                f"GPT.from_hf implements the tanh GELU of GPT-2 (gelu_new), got activation_function="
                f"{hf.activation_function!r}"
            )
        cfg = GPTConfig(
            vocab_size=hf.vocab_size, block_size=hf.n_positions, n_layer=hf.n_layer, n_head=hf.n_head,
            d_model=hf.n_embd, d_ff=hf.n_inner, layer_norm_eps=hf.layer_norm_epsilon,
            tie_weights=getattr(hf, "tie_word_embeddings", True),
        )  # fmt: skip
        ours = cls(cfg)
        body = getattr(model, "transformer", model)  # GPT2LMHeadModel wraps a GPT2Model
        D = hf.n_embd
        with torch.no_grad():
            ours.wte.weight.copy_(body.wte.weight)
            ours.wpe.weight.copy_(body.wpe.weight)
            for block, hf_block in zip(ours.blocks, body.h):
                qkv = linear_from_conv1d(hf_block.attn.c_attn)  # weight (3D, D): the q, k and v rows stacked
                projections = (block.attn.q_proj, block.attn.k_proj, block.attn.v_proj)
                for proj, w, b in zip(projections, qkv.weight.split(D), qkv.bias.split(D)):
                    proj.weight.copy_(w)  # (D, D)
                    proj.bias.copy_(b)
                pairs = {
                    block.attn.out_proj: hf_block.attn.c_proj, block.mlp.linear1: hf_block.mlp.c_fc,
                    block.mlp.linear2: hf_block.mlp.c_proj,
                }  # fmt: skip
                for linear, conv in pairs.items():
                    linear.load_state_dict(linear_from_conv1d(conv).state_dict())
                for norm, hf_norm in ((block.ln_1, hf_block.ln_1), (block.ln_2, hf_block.ln_2)):
                    norm.load_state_dict(hf_norm.state_dict())
            ours.ln_f.load_state_dict(body.ln_f.state_dict())
            if not cfg.tie_weights:
                ours.lm_head.weight.copy_(model.lm_head.weight)
        return ours

    def to_hf(self):
        """The inverse of from_hf: a `transformers.GPT2LMHeadModel` with this model's weights."""
        from transformers import GPT2Config, GPT2LMHeadModel

        cfg = self.config
        if cfg.position != "learned" or cfg.activation != "gelu_tanh":
            raise ValueError("to_hf needs position='learned' and activation='gelu_tanh', as in GPT-2")
        hf_cfg = GPT2Config(
            vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.d_model, n_layer=cfg.n_layer,
            n_head=cfg.n_head, n_inner=cfg.d_ff, layer_norm_epsilon=cfg.layer_norm_eps,
            activation_function="gelu_new", resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout,
            attn_pdrop=cfg.dropout, tie_word_embeddings=cfg.tie_weights, bos_token_id=None, eos_token_id=None,
        )  # fmt: skip
        model = GPT2LMHeadModel(hf_cfg)
        sd = {"transformer.wte.weight": self.wte.weight, "transformer.wpe.weight": self.wpe.weight}
        for i, block in enumerate(self.blocks):
            p = f"transformer.h.{i}."
            attn = block.attn
            sd[p + "attn.c_attn.weight"] = torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).T
            sd[p + "attn.c_attn.bias"] = torch.cat([attn.q_proj.bias, attn.k_proj.bias, attn.v_proj.bias])
            for linear, name in ((attn.out_proj, "attn.c_proj"), (block.mlp.linear1, "mlp.c_fc"), (block.mlp.linear2, "mlp.c_proj")):
                sd[p + name + ".weight"] = linear.weight.T
                sd[p + name + ".bias"] = linear.bias
            for norm, name in ((block.ln_1, "ln_1"), (block.ln_2, "ln_2")):
                sd[p + name + ".weight"], sd[p + name + ".bias"] = norm.weight, norm.bias
        sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = self.ln_f.weight, self.ln_f.bias
        sd["lm_head.weight"] = self.lm_head.weight
        missing, unexpected = model.load_state_dict({k: v.detach().contiguous() for k, v in sd.items()}, strict=False)
        if missing or unexpected:
            raise RuntimeError(f"weights did not map onto GPT2LMHeadModel: missing {missing}, unexpected {unexpected}")
        return model.eval()


def linear_from_conv1d(conv1d: nn.Module) -> nn.Linear:
    """An nn.Linear that computes what a Hugging Face GPT-2 `Conv1D` computes, with its own copy of the weights.

    Conv1D keeps weight (in, out) and computes y = x @ weight + bias; nn.Linear keeps weight (out, in)
    and computes y = x @ weight.T + bias. So the Linear's weight is the Conv1D's, transposed.
    """
    weight, bias = conv1d.weight, conv1d.bias  # (in, out), (out,)
    d_in, d_out = weight.shape
    linear = nn.utils.skip_init(nn.Linear, d_in, d_out, device=weight.device, dtype=weight.dtype)  # no random init
    with torch.no_grad():
        linear.weight.copy_(weight.T)  # (out, in)
        linear.bias.copy_(bias)  # (out,)
    return linear

