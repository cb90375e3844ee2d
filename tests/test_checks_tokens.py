"""The chapter-2 checkers (padding a batch, the embedding lookup): they accept correct code however it is
written, and name the mistakes they know."""

import pytest
import torch
import torch.nn.functional as F

import transformer_lab as tl
from transformer_lab.checks import check_embedding_lookup, check_pad_batch, tokens


def pad_with_lists(sequences, pad_id):
    longest = max(map(len, sequences))
    return torch.tensor([list(s) + [pad_id] * (longest - len(s)) for s in sequences])


def pad_with_torch(sequences, pad_id):
    return torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in sequences], batch_first=True, padding_value=pad_id)


def embed_one_hot(ids, weight):
    return F.one_hot(ids, num_classes=weight.shape[0]).to(weight.dtype) @ weight  # (B, T, V) @ (V, D)


def embed_compare(ids, weight):
    """A one-hot built by comparison, and an einsum."""
    one_hot = (ids[..., None] == torch.arange(weight.shape[0])).float()  # (B, T, V)
    return torch.einsum("btv,vd->btd", one_hot, weight)


CORRECT = {
    check_pad_batch: [tl.pad_batch, pad_with_lists, pad_with_torch],
    check_embedding_lookup: [F.embedding, embed_one_hot, embed_compare, lambda ids, weight: weight[ids]],
}

MISTAKES = {
    check_pad_batch: tokens.PAD_BATCH_MISTAKES,
    check_embedding_lookup: tokens.EMBEDDING_MISTAKES,
}


def test_a_list_of_lists_is_not_a_tensor():
    with pytest.raises(AssertionError, match="`batch` is a list of 3 items, not a torch.Tensor"):
        check_pad_batch(lambda sequences, pad_id: pad_with_lists(sequences, pad_id).tolist())


def test_a_float_one_hot_of_the_wrong_width_is_reported_as_its_error():
    with pytest.raises(AssertionError, match="raised RuntimeError"):
        check_embedding_lookup(lambda ids, weight: F.one_hot(ids).float() @ weight)  # width max(id) + 1, not V
