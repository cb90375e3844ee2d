"""Chapter 14 — Between the package and Hugging Face `transformers`: one name map per architecture,
read in both directions.

GPT-2 stores its projections in `Conv1D` layers, y = x @ W + b with W of shape (in, out): the
transpose of nn.Linear's weight (see linear_from_conv1d). Its attention projection c_attn holds q, k
and v side by side, where our attention keeps three layers. BERT's encoder layers are a post-LN
tl.EncoderLayer with exact GELU under other names. Last, chapter 2's byte-pair tokenizer as a
`transformers` tokenizer (hf_tokenizer), so that a model and its tokenizer save and load together.
"""

from __future__ import annotations

import torch
from torch import nn

from .bpe import BPETokenizer, to_hf_tokenizer
from .encoder import Encoder
from .gpt import GPT, GPTConfig
from .tokenizer import BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, UNK_TOKEN

# GPT-2, ours -> Hugging Face's GPT2LMHeadModel, and how the tensor is stored there. "{i}" stands for every
# block; "{q,k,v}" for three of our tensors that Hugging Face keeps as one, stacked along its output dimension.
GPT2_NAMES = [
    ("wte.weight", "transformer.wte.weight", "same"),
    ("wpe.weight", "transformer.wpe.weight", "same"),
    ("blocks.{i}.ln_1.weight", "transformer.h.{i}.ln_1.weight", "same"),
    ("blocks.{i}.ln_1.bias", "transformer.h.{i}.ln_1.bias", "same"),
    ("blocks.{i}.attn.{q,k,v}_proj.weight", "transformer.h.{i}.attn.c_attn.weight", "stacked, transposed"),
    ("blocks.{i}.attn.{q,k,v}_proj.bias", "transformer.h.{i}.attn.c_attn.bias", "stacked"),
    ("blocks.{i}.attn.out_proj.weight", "transformer.h.{i}.attn.c_proj.weight", "transposed"),
    ("blocks.{i}.attn.out_proj.bias", "transformer.h.{i}.attn.c_proj.bias", "same"),
    ("blocks.{i}.ln_2.weight", "transformer.h.{i}.ln_2.weight", "same"),
    ("blocks.{i}.ln_2.bias", "transformer.h.{i}.ln_2.bias", "same"),
    ("blocks.{i}.mlp.linear1.weight", "transformer.h.{i}.mlp.c_fc.weight", "transposed"),
    ("blocks.{i}.mlp.linear1.bias", "transformer.h.{i}.mlp.c_fc.bias", "same"),
    ("blocks.{i}.mlp.linear2.weight", "transformer.h.{i}.mlp.c_proj.weight", "transposed"),
    ("blocks.{i}.mlp.linear2.bias", "transformer.h.{i}.mlp.c_proj.bias", "same"),
    ("ln_f.weight", "transformer.ln_f.weight", "same"),
    ("ln_f.bias", "transformer.ln_f.bias", "same"),
    ("lm_head.weight", "lm_head.weight", "same"),  # with tied weights, the same tensor as wte in both
]

# BERT, inside encoder layer i: ours (a tl.EncoderLayer) -> Hugging Face's BertLayer, module by module.
BERT_LAYER_NAMES = {
    "self_attn.q_proj": "attention.self.query",
    "self_attn.k_proj": "attention.self.key",
    "self_attn.v_proj": "attention.self.value",
    "self_attn.out_proj": "attention.output.dense",
    "norm1": "attention.output.LayerNorm",
    "feed_forward.linear1": "intermediate.dense",
    "feed_forward.linear2": "output.dense",
    "norm2": "output.LayerNorm",
}


def gpt2_name_pairs(n_layers: int) -> list[tuple[list[str], str, str]]:
    """GPT2_NAMES for a model of n_layers blocks: ([our names], Hugging Face's name, how), every {i} filled in."""
    pairs = []
    for ours, theirs, how in GPT2_NAMES:
        for i in range(n_layers) if "{i}" in ours else [None]:
            mine = ours.replace("{i}", str(i))
            names = [mine.replace("{q,k,v}", x) for x in "qkv"] if "{q,k,v}" in mine else [mine]
            pairs.append((names, theirs.replace("{i}", str(i)), how))
    return pairs


def gpt_to_hf_state(state: dict[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """Our GPT's state dict -> the tensors of a GPT2LMHeadModel's, by GPT2_NAMES."""
    out = {}
    for names, theirs, how in gpt2_name_pairs(n_layers):
        tensor = torch.cat([state[n] for n in names])  # (3D, ...) when stacked, else the one tensor
        out[theirs] = tensor.T if "transposed" in how else tensor
    return out


def gpt_from_hf_state(state: dict[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """A GPT2LMHeadModel's state dict -> the tensors of our GPT's, by GPT2_NAMES read the other way."""
    out = {}
    for names, theirs, how in gpt2_name_pairs(n_layers):
        tensor = state[theirs].T if "transposed" in how else state[theirs]
        out.update(zip(names, tensor.chunk(len(names))))  # stacked: q, k, v along the first dimension
    return out


def gpt_from_hf(model) -> GPT:
    """A tl.GPT with the weights of a Hugging Face `transformers.GPT2LMHeadModel`."""
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
        vocab_size=hf.vocab_size, block_size=hf.n_positions, n_layers=hf.n_layer, n_heads=hf.n_head,
        d_model=hf.n_embd, d_ff=hf.n_inner, layer_norm_eps=hf.layer_norm_epsilon,
        tie_embeddings=getattr(hf, "tie_word_embeddings", True),
    )  # fmt: skip
    ours = GPT(cfg)
    _load_exactly(ours, gpt_from_hf_state(model.state_dict(), cfg.n_layers), "GPT")
    return ours


def gpt_to_hf(gpt: GPT):
    """A `transformers.GPT2LMHeadModel` with the weights of a tl.GPT (the inverse of gpt_from_hf)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = gpt.config
    if cfg.positional != "learned" or cfg.activation != "gelu_tanh":
        raise ValueError("to_hf needs positional='learned' and activation='gelu_tanh', as in GPT-2")
    hf_cfg = GPT2Config(
        vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.d_model, n_layer=cfg.n_layers,
        n_head=cfg.n_heads, n_inner=cfg.d_ff, layer_norm_epsilon=cfg.layer_norm_eps,
        activation_function="gelu_new", resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout,
        attn_pdrop=cfg.dropout, tie_word_embeddings=cfg.tie_embeddings, bos_token_id=None, eos_token_id=None,
    )  # fmt: skip
    model = GPT2LMHeadModel(hf_cfg)
    _load_exactly(model, gpt_to_hf_state(gpt.state_dict(), cfg.n_layers), "GPT2LMHeadModel")
    return model.eval()


def _load_exactly(model: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Copy `state` into model, every weight of the model mapped and no name left over."""
    missing, unexpected = model.load_state_dict({k: v.detach() for k, v in state.items()}, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"weights did not map onto {what}: missing {missing}, unexpected {unexpected}")


def load_bert_layers(encoder: Encoder, bert) -> Encoder:
    """Copy the layers of a Hugging Face `BertModel` into a post-LN tl.Encoder of the same size, by
    BERT_LAYER_NAMES, and give every LayerNorm BERT's eps. Returns the encoder."""
    if len(encoder.layers) != len(bert.encoder.layer):
        raise ValueError(f"the encoder has {len(encoder.layers)} layers, BERT has {len(bert.encoder.layer)}")
    with torch.no_grad():
        for ours_layer, bert_layer in zip(encoder.layers, bert.encoder.layer):
            for mine, theirs in BERT_LAYER_NAMES.items():
                ours_layer.get_submodule(mine).load_state_dict(bert_layer.get_submodule(theirs).state_dict())
            ours_layer.norm1.eps = ours_layer.norm2.eps = bert.config.layer_norm_eps
    return encoder


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


def hf_tokenizer(bpe: BPETokenizer):
    """A chapter-2 BPETokenizer as a `transformers.PreTrainedTokenizerFast`: what AutoTokenizer loads and
    pipelines and Trainer call. Same ids as bpe.encode, with our special tokens in their usual roles."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=to_hf_tokenizer(bpe),
        pad_token=PAD_TOKEN,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        clean_up_tokenization_spaces=False,  # decode gives back the text's own spaces, as bpe.decode does
    )


def last_token_states(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The hidden state of each row's last real token: (B, T, D), (B, T) of 1 = token, 0 = padding -> (B, D).

    What GPT2ForSequenceClassification feeds its `score` head: in a causal model only the last position
    has seen the whole sequence. "Last real" is the rightmost 1, wherever the padding is (at the end, as
    DataCollatorWithPadding puts it, or at the start, as batched generation does).
    """
    if not isinstance(hidden, torch.Tensor) or hidden.dim() != 3:
        raise ValueError(f"hidden must be a (B, T, D) tensor, got {_shape_of(hidden)}")
    if not isinstance(attention_mask, torch.Tensor) or tuple(attention_mask.shape) != tuple(hidden.shape[:2]):
        raise ValueError(
            f"attention_mask must be (B, T) = {tuple(hidden.shape[:2])}, like hidden's first two dimensions, "
            f"got {_shape_of(attention_mask)}"
        )
    real = attention_mask.bool()  # (B, T)
    if not real.any(dim=1).all():
        raise ValueError("every row of attention_mask needs at least one real token (a 1)")
    positions = torch.arange(hidden.shape[1], device=hidden.device)  # (T,)
    last = torch.where(real, positions, -1).amax(dim=1)  # (B,): the rightmost real position
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]  # (B, D)


def _shape_of(x) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
