"""Chapter 14: the name maps between the package and Hugging Face, read in both directions.

The logits parity of GPT.from_hf / to_hf is in test_gpt.py; here, that one table covers every weight of
both models, that the two directions invert each other exactly, and that BERT's layers load into ours.
"""

import pytest
import torch
from transformers import BertConfig, BertModel

import transformer_lab as tl
from transformer_lab import hugging_face as thf

from conftest import assert_close_f32, perturb_


def small_gpt(**kw) -> tl.GPT:
    return perturb_(tl.GPT(tl.GPTConfig(vocab_size=30, block_size=12, n_layers=3, n_heads=2, d_model=16, **kw)))


@pytest.mark.parametrize("tied", [True, False])
def test_gpt2_names_cover_every_weight_of_both_models_once(tied):
    ours = small_gpt(tie_embeddings=tied)
    theirs = ours.to_hf()
    pairs = thf.gpt2_name_pairs(ours.config.n_layers)
    ours_names = [n for names, _, _ in pairs for n in names]
    assert sorted(ours_names) == sorted(ours.state_dict())
    assert sorted(hf for _, hf, _ in pairs) == sorted(theirs.state_dict())


@pytest.mark.parametrize("tied", [True, False])
def test_the_two_directions_of_the_table_invert_each_other_exactly(tied):
    ours = small_gpt(tie_embeddings=tied)
    state = ours.state_dict()
    there_and_back = thf.gpt_from_hf_state(thf.gpt_to_hf_state(state, 3), 3)
    assert state.keys() == there_and_back.keys()
    for name, tensor in state.items():
        assert torch.equal(there_and_back[name], tensor), name
    back = tl.GPT.from_hf(ours.to_hf())
    for name, tensor in back.state_dict().items():
        assert torch.equal(tensor, state[name]), name


def test_stacked_qkv_is_hugging_faces_c_attn():
    ours = small_gpt()
    c_attn = ours.to_hf().transformer.h[1].attn.c_attn.weight  # (D, 3D): Conv1D keeps (in, out)
    attn = ours.blocks[1].attn
    assert torch.equal(c_attn, torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).T)


def test_to_hf_refuses_what_gpt2_cannot_hold():
    with pytest.raises(ValueError, match="positional='learned' and activation='gelu_tanh'"):
        small_gpt(positional="rope").to_hf()


def test_bert_layers_load_into_a_post_ln_encoder_and_give_berts_outputs():
    config = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=16, hidden_act="gelu")  # fmt: skip
    torch.manual_seed(0)
    bert = perturb_(BertModel(config, add_pooling_layer=False)).eval()
    encoder = tl.Encoder(n_layers=2, d_model=32, n_heads=4, d_ff=64, activation="gelu").eval()
    thf.load_bert_layers(encoder, bert)
    ids = torch.randint(1, 50, (2, 9))
    ids[1, 6:] = 0
    real = ids != 0
    with torch.no_grad():
        theirs = bert(ids, attention_mask=real.long()).last_hidden_state  # (2, 9, 32)
        ours = encoder(bert.embeddings(ids), tl.padding_mask(ids, pad_id=0))
    assert_close_f32(ours[real], theirs[real])
    with pytest.raises(ValueError, match="the encoder has 1 layers, BERT has 2"):
        thf.load_bert_layers(tl.Encoder(n_layers=1, d_model=32, n_heads=4, d_ff=64), bert)


def test_our_bpe_as_a_transformers_tokenizer_saves_reloads_and_encodes_like_ours(tmp_path):
    from transformers import AutoTokenizer

    ours = tl.train_bpe("the cat sat on the mat; the dog sat on the log. " * 20, vocab_size=300)
    thf.hf_tokenizer(ours).save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)  # from the folder alone, as a learner's notebook would
    assert (loaded.pad_token_id, loaded.bos_token_id, loaded.eos_token_id, loaded.unk_token_id) == (0, 1, 2, 3)
    for text in ["the cat sat", "a mat , a log .", "트랜스포머 🙂"]:
        assert loaded(text)["input_ids"] == ours.encode(text)
        assert loaded.decode(ours.encode(text, add_bos=True), skip_special_tokens=True) == text
    assert len(loaded) == ours.vocab_size
