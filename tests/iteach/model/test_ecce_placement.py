"""Where ECCE reads from: projected states (default), the input features (the paper's Eqs. 1-4),
or its own ECCE in every layer; and which utterances are distilled."""

from __future__ import annotations

import pytest
import torch

from iteach_app.model.iteach import ITEACHNet
from iteach_app.training.step import prepare_step
from missing_modality import Constant, ModalityMasker

DIMS = {"text": 6, "audio": 4}


def _inputs(seed: int, dtype: torch.dtype = torch.float32):
    g = torch.Generator().manual_seed(seed)
    lengths = [5, 3, 7]
    mask = torch.arange(7)[None, :] < torch.tensor(lengths)[:, None]
    features = {n: torch.randn(3, 7, d, generator=g, dtype=dtype) for n, d in DIMS.items()}
    present = torch.rand(3, 7, 2, generator=g) < 0.7
    present[..., 0] |= ~present[..., 1]
    return features, mask, present


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_features_input_runs_ecce_on_the_standardised_features(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = ITEACHNet(DIMS, 3, hidden_dim=8, num_heads=2, ecce_input="features").to(dtype).eval()
    assert model.ecce["text"].proj.in_features == 32  # F_local maps D_m -> ecce_dim
    assert model.ecce["audio"].local.conv.in_channels == DIMS["audio"]
    features, mask, present = _inputs(1, dtype)
    biases = model.ecce_biases(features, mask, present)
    for index, name in enumerate(model.modalities):
        zero_filled = features[name] * present[..., index, None] * mask[..., None]
        want = model.ecce[name](zero_filled, mask)
        torch.testing.assert_close(biases[name], want)
    assert model(features, mask, present).shape == (3, 7, 3)


def test_per_layer_ecce_is_read_by_its_own_layer() -> None:
    torch.manual_seed(0)
    model = ITEACHNet(DIMS, 3, num_layers=3, hidden_dim=8, num_heads=2, ecce_per_layer=True)
    model.eval()
    assert len(model.layer_ecce) == 3
    assert len(model.ecce) == 0
    features, mask, present = _inputs(2)
    before = model(features, mask, present)
    with torch.no_grad():
        model.layer_ecce[2]["text"].proj.weight.mul_(50.0)
    after = model(features, mask, present)
    assert not torch.allclose(before[mask], after[mask])
    assert model.ecce_biases(features, mask, present)["text"].shape == (3, 2, 7, 7)


def test_per_layer_with_features_input_is_refused() -> None:
    with pytest.raises(ValueError, match="ecce_per_layer"):
        ITEACHNet(DIMS, 3, ecce_input="features", ecce_per_layer=True)
    with pytest.raises(ValueError, match="projected"):
        ITEACHNet(DIMS, 3, ecce_input="raw")


def test_distill_on_all_marks_every_real_utterance(tiny_data) -> None:
    from iteach_app.data import collate

    batch = collate(tiny_data.train, [0, 1, 2, 3])
    masker = ModalityMasker(("text", "audio", "video"), keep_at_least=1)
    kwargs = {"masker": masker, "schedule": Constant(0.5), "seed": 0, "epoch": 0, "step": 0}
    missing = prepare_step(batch, **kwargs).distill_where
    everywhere = prepare_step(batch, **kwargs, distill_on="all").distill_where
    assert torch.equal(everywhere, batch.utterance_mask)
    assert bool(missing.any())
    assert bool((missing & ~batch.utterance_mask).sum() == 0)
    assert int(missing.sum()) < int(everywhere.sum())
