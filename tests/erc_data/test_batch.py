"""collate_conversations against a plain reference loop; conversation_loader batching."""

import numpy as np
import pytest
import torch

from erc_data import DataError, collate_conversations, conversation_loader
from erc_data.synthetic import iemocap_like, mosi_like


@pytest.fixture(scope="module")
def ds():
    return iemocap_like(6, seed=2, num_dialogues=9, dims={"text": 5, "audio": 3}, max_length=15)


def test_padding_matches_a_reference_loop(ds) -> None:
    convs = [ds[3], ds[0], ds[7]]
    batch = collate_conversations(convs)
    length = max(len(c) for c in convs)
    assert batch.utterance_mask.shape == (3, length)
    assert batch.utterance_mask.dtype == torch.bool
    assert batch.labels.dtype == torch.long
    assert batch.speakers.dtype == torch.long
    assert batch.ids == [c.id for c in convs]
    for b, conv in enumerate(convs):
        assert batch.utterance_ids[b] == conv.utterance_ids
        for t in range(length):
            real = t < len(conv)
            assert bool(batch.utterance_mask[b, t]) is real
            assert int(batch.labels[b, t]) == (int(conv.labels[t]) if real else -100)
            assert int(batch.speakers[b, t]) == (int(conv.speakers[t]) if real else 0)
            for m, x in batch.features.items():
                assert x.dtype == torch.float32
                assert x.shape == (3, length, ds.modality_dims[m])
                want = conv.features[m][t] if real else np.zeros(ds.modality_dims[m])
                np.testing.assert_array_equal(x[b, t].numpy(), want)


def test_regression_padding_is_zero() -> None:
    mosi = mosi_like(seed=0, num_dialogues=4, dims={"text": 2}, max_length=10)
    batch = collate_conversations(list(mosi))
    assert batch.labels.dtype == torch.float32
    assert (batch.labels[~batch.utterance_mask] == 0.0).all()


def test_to_device_copies(ds) -> None:
    batch = collate_conversations([ds[0], ds[1]])
    moved = batch.to("cpu")
    assert moved is not batch
    assert moved.ids == batch.ids
    assert torch.equal(moved.features["text"], batch.features["text"])


def test_loader_batches_whole_conversations(ds) -> None:
    loader = conversation_loader(ds, batch_size=4)
    batches = list(loader)
    assert [len(b) for b in batches] == [4, 4, 1]
    assert [i for b in batches for i in b.ids] == [c.id for c in ds]
    assert sum(int(b.utterance_mask.sum()) for b in batches) == ds.num_utterances
    assert [len(b) for b in conversation_loader(ds, batch_size=4, drop_last=True)] == [4, 4]


def test_shuffle_is_seeded(ds) -> None:
    def order(seed: int) -> list[str]:
        return [i for b in conversation_loader(ds, 3, shuffle=True, seed=seed) for i in b.ids]

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert sorted(order(1)) == sorted(c.id for c in ds)


def test_bad_batches(ds) -> None:
    with pytest.raises(DataError, match="at least one"):
        collate_conversations([])
    text_only = iemocap_like(4, seed=0, num_dialogues=2, dims={"text": 5}, max_length=5)
    with pytest.raises(DataError, match="modalities"):
        collate_conversations([ds[0], text_only[0]])
    with pytest.raises(DataError, match="batch_size"):
        conversation_loader(ds, batch_size=0)
