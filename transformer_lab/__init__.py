"""Transformer Lab: every Transformer component, from scratch in PyTorch, in the order the course teaches it.

Tensors are batch-first. A mask is boolean and means True = may attend; it broadcasts to
(B, n_heads, T_q, T_k). Shapes: B batch, T length, D = d_model, H heads, d_k = D / H, V vocabulary.
"""

from .claims import ClaimError, claim, claim_that, show  # every chapter: results checked within bands
from .tokenizer import CharTokenizer, check_token_ids, pad_batch  # chapter 2
from .bpe import BPETokenizer, merge, most_frequent_pair, pair_counts, pre_tokenize, token_text, train_bpe  # chapter 2
from .attention import causal_mask, fast_attention, padding_mask, scaled_dot_product_attention  # chapter 3
from .multi_head import KVCache, MultiHeadAttention, check_heads  # chapter 4
from .positional import (  # chapter 5
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_encoding,
)
from .layers import FeedForward, LayerNorm, set_fast_path  # chapter 6 (the fast path: chapter 15)
from .encoder import Encoder, EncoderLayer, LayerStack  # chapter 7
from .decoder import Decoder, DecoderLayer  # chapter 8
from .torch_nn import from_torch  # chapters 4, 7 and 8: our layers from torch.nn's
from .transformer import Transformer, TransformerConfig  # chapter 9
from .generation import (  # chapter 10
    beam_search,
    greedy_decode,
    sample_decode,
    sample_next_token,
    top_k_filter,
    top_p_filter,
)
from .gpt import GPT, GPTConfig  # chapter 11
from .vit import PatchEmbedding, ViT, ViTConfig  # chapter 12
from . import hugging_face  # chapter 14
from . import interactive  # chapters 5, 9 and 10: figures to hover and tune
from .flops import non_embedding_parameters, training_flops_per_token  # chapter 15
from .training import (
    History,
    count_parameters,
    cross_entropy_loss,
    evaluate,
    fixed_windows,
    get_device,
    label_smoothed_cross_entropy,
    load_checkpoint,
    model_device,
    noam_lr,
    random_windows,
    save_checkpoint,
    set_seed,
    to_device,
    train,
    train_warmup_cosine,
    warmup_cosine,
    weight_decay_groups,
)
from .plotting import (
    korean_font_family,
    plot_token_splits,
    plot_attention,
    plot_attention_heads,
    plot_loss_curves,
    plot_lr_schedule,
    plot_mask,
    plot_positional_encoding,
)

__version__ = "0.1.0"
