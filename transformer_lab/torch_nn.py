"""Our layers from PyTorch's own (chapters 4, 7 and 8): the weights of torch.nn's attention, encoder and
decoder layers copied into the package's, to prove the two compute the same thing.

torch.nn keeps q, k and v in one stacked matrix `in_proj_weight` (3D, D) where we keep three (D, D)
layers, and names the parts of a layer differently: LAYER_NAMES below is the one map between the two.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .decoder import DecoderLayer
from .encoder import EncoderLayer
from .multi_head import MultiHeadAttention

# Inside an encoder or decoder layer, ours -> torch.nn's (cross_attn and norm3: decoder layers only).
LAYER_NAMES = {
    "self_attn": "self_attn",
    "cross_attn": "multihead_attn",
    "feed_forward.linear1": "linear1",
    "feed_forward.linear2": "linear2",
    "norm1": "norm1",
    "norm2": "norm2",
    "norm3": "norm3",
}
LAYER_CLASSES = {nn.TransformerEncoderLayer: EncoderLayer, nn.TransformerDecoderLayer: DecoderLayer}


def from_torch(module: nn.Module) -> nn.Module:
    """The package's copy of a torch.nn.MultiheadAttention, TransformerEncoderLayer or TransformerDecoderLayer
    (built with batch_first=True), with the same weights: MultiHeadAttention, EncoderLayer or DecoderLayer."""
    if isinstance(module, nn.MultiheadAttention):
        return _attention_from_torch(module)
    for theirs_class, ours_class in LAYER_CLASSES.items():
        if isinstance(module, theirs_class):
            return _layer_from_torch(module, ours_class)
    expected = ", ".join(f"nn.{c.__name__}" for c in (nn.MultiheadAttention, *LAYER_CLASSES))
    raise TypeError(f"from_torch takes one of {expected}, got {type(module).__name__}")


def _attention_from_torch(m: nn.MultiheadAttention) -> MultiHeadAttention:
    if not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
        raise ValueError("from_torch supports nn.MultiheadAttention without kdim/vdim, add_bias_kv or add_zero_attn")
    bias = m.in_proj_bias is not None
    ours = MultiHeadAttention(d_model=m.embed_dim, n_heads=m.num_heads, dropout=m.dropout, bias=bias)
    projections = (ours.q_proj, ours.k_proj, ours.v_proj)
    with torch.no_grad():
        for proj, w in zip(projections, m.in_proj_weight.chunk(3, dim=0)):  # (3D, D) -> three (D, D)
            proj.weight.copy_(w)
        ours.out_proj.weight.copy_(m.out_proj.weight)
        if bias:
            for proj, b in zip(projections, m.in_proj_bias.chunk(3)):
                proj.bias.copy_(b)
            ours.out_proj.bias.copy_(m.out_proj.bias)
    return ours


def _layer_from_torch(m: nn.Module, ours_class: type[nn.Module]) -> nn.Module:
    ours = ours_class(
        d_model=m.self_attn.embed_dim, n_heads=m.self_attn.num_heads, d_ff=m.linear1.out_features,
        dropout=m.dropout.p, activation=_activation_name(m.activation), norm_first=m.norm_first,
    )  # fmt: skip
    for mine, theirs in LAYER_NAMES.items():
        if not hasattr(ours, mine.split(".")[0]):
            continue  # cross-attention and the third norm: decoder layers only
        part = m.get_submodule(theirs)
        if isinstance(part, nn.MultiheadAttention):
            setattr(ours, mine, _attention_from_torch(part))
        else:
            ours.get_submodule(mine).load_state_dict(part.state_dict())
            if isinstance(part, nn.LayerNorm):
                ours.get_submodule(mine).eps = part.eps
    return ours


def _activation_name(activation) -> str:
    if activation is F.relu or isinstance(activation, nn.ReLU):
        return "relu"
    if activation is F.gelu or (isinstance(activation, nn.GELU) and activation.approximate == "none"):
        return "gelu"
    raise ValueError(f"unsupported activation {activation!r}: expected relu or gelu")
