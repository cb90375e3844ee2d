"""Exercise checks: call one right under an exercise to compare your code with the package's.

    from transformer_lab.checks import check_scaled_dot_product_attention
    check_scaled_dot_product_attention(my_attention)

A checker runs your function, or builds your class (with the package class's constructor arguments,
then copies in the weights of a seeded reference instance by state_dict), on a few small seeded
inputs and compares the result with the package's own implementation. When every case matches it
prints one line. When one does not, it raises AssertionError: it runs known buggy versions on the
same input and, if yours matches one, names the mistake; otherwise it says which input differs and
by how much.

Any correct implementation passes (einsum or matmul, -inf or -1e9, a loop or vectorised code): no
input has a fully masked row, and floats are compared with float32 tolerances. The known mistakes
sit next to each checker as lists of `Mistake(hint, impl)`, where `impl` is called like your code.

One module per chapter, in course order; `engine` holds what every checker shares.
"""

from .attention import check_causal_mask, check_padding_mask, check_scaled_dot_product_attention
from .blocks import check_decoder_layer, check_encoder_layer
from .bpe import check_bpe_merge
from .generation import check_beam_search, check_greedy_decode, check_top_k_filter, check_top_p_filter
from .gpt import check_gpt_block, check_next_token_loss
from .hugging_face import check_conv1d_to_linear, check_gelu_tanh, check_last_token_states
from .kv_cache import check_kv_cache_step
from .layers import check_feed_forward, check_layer_norm
from .multi_head import check_multi_head_attention
from .positional import check_sinusoidal_encoding
from .rotary import check_rotary
from .scaling import check_training_flops
from .softmax import check_attention_pool, check_softmax
from .text_to_image import check_image_to_tokens, check_pixel_loss
from .tokens import check_embedding_lookup, check_pad_batch
from .training import check_label_smoothed_cross_entropy, check_warmup_cosine
from .vit import check_patch_embedding

__all__ = [
    "check_softmax",
    "check_attention_pool",
    "check_pad_batch",
    "check_embedding_lookup",
    "check_bpe_merge",
    "check_scaled_dot_product_attention",
    "check_causal_mask",
    "check_padding_mask",
    "check_multi_head_attention",
    "check_sinusoidal_encoding",
    "check_rotary",
    "check_layer_norm",
    "check_feed_forward",
    "check_encoder_layer",
    "check_decoder_layer",
    "check_label_smoothed_cross_entropy",
    "check_warmup_cosine",
    "check_greedy_decode",
    "check_beam_search",
    "check_top_k_filter",
    "check_top_p_filter",
    "check_kv_cache_step",
    "check_next_token_loss",
    "check_gpt_block",
    "check_patch_embedding",
    "check_image_to_tokens",
    "check_pixel_loss",
    "check_conv1d_to_linear",
    "check_gelu_tanh",
    "check_last_token_states",
    "check_training_flops",
]
