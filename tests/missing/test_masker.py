"""ModalityMasker: masks valid utterances only, zero-fills, reports present in modality order."""

from __future__ import annotations

import pytest
import torch

from missing_modality import ModalityMasker, missing_count, missing_fraction


def padded_batch(dtype: torch.dtype = torch.float32) -> tuple[dict, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    lengths = torch.tensor([9, 4, 1, 6])
    utterance_mask = torch.arange(9)[None, :] < lengths[:, None]
    features = {
        name: torch.randn(4, 9, dim, generator=generator, dtype=dtype) + 5.0
        for name, dim in (("text", 8), ("audio", 3), ("video", 5))
    }
    return features, utterance_mask


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("keep_at_least", [1, 0])
def test_masks_valid_utterances_only(dtype: torch.dtype, keep_at_least: int) -> None:
    features, utterance_mask = padded_batch(dtype)
    masker = ModalityMasker(keep_at_least=keep_at_least)
    out = masker(features, utterance_mask, 0.5, generator=torch.Generator().manual_seed(0))
    assert out.present.shape == (4, 9, 3)
    assert not bool(out.present[~utterance_mask].any())
    num_valid = int(utterance_mask.sum())
    dropped = int((~out.present[utterance_mask]).sum())
    assert dropped == missing_count(num_valid, 3, 0.5, keep_at_least=keep_at_least)
    assert missing_fraction(out.present, utterance_mask) == pytest.approx(dropped / (3 * num_valid))
    if keep_at_least:
        assert bool((out.present[utterance_mask].sum(-1) >= 1).all())
    for index, name in enumerate(("text", "audio", "video")):
        value, original = out.features[name], features[name]
        assert value.dtype == dtype
        missing = utterance_mask & ~out.present[..., index]
        assert bool((value[missing] == 0).all())
        assert torch.equal(value[~missing], original[~missing])
        assert bool((original != 0).all()), "the input must not be modified"


def test_modalities_order_and_determinism() -> None:
    features, utterance_mask = padded_batch()
    masker = ModalityMasker(["video", "text", "audio"])
    first = masker(features, utterance_mask, 0.6, generator=torch.Generator().manual_seed(5))
    second = masker(features, utterance_mask, 0.6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first.present, second.present)
    video_missing = utterance_mask & ~first.present[..., 0]
    assert bool((first.features["video"][video_missing] == 0).all())
    assert bool((first.features["video"][utterance_mask & first.present[..., 0]] != 0).all())


def test_rate_zero_is_identity_on_valid_utterances() -> None:
    features, utterance_mask = padded_batch()
    out = ModalityMasker()(features, utterance_mask, 0.0, generator=torch.Generator())
    assert torch.equal(out.present, utterance_mask[..., None].expand(-1, -1, 3))
    for name, value in features.items():
        assert torch.equal(out.features[name], value)


def test_by_count_and_unpacking() -> None:
    features, utterance_mask = padded_batch()
    masked, present = ModalityMasker().by_count(
        features, utterance_mask, 7, generator=torch.Generator().manual_seed(1)
    )
    assert int((~present[utterance_mask]).sum()) == 7
    assert set(masked) == set(features)


def test_errors_name_the_problem() -> None:
    features, utterance_mask = padded_batch()
    generator = torch.Generator()
    with pytest.raises(ValueError, match=r"missing: \['image'\]"):
        ModalityMasker(["text", "audio", "video", "image"])(
            features, utterance_mask, 0.1, generator=generator
        )
    bad = {**features, "audio": features["audio"][:, :8]}
    with pytest.raises(ValueError, match=r"features\['audio'\] has shape \(4, 8, 3\)"):
        ModalityMasker()(bad, utterance_mask, 0.1, generator=generator)
    with pytest.raises(TypeError, match="bool tensor"):
        ModalityMasker()(features, utterance_mask.long(), 0.1, generator=generator)
    with pytest.raises(ValueError, match="keep_at_least=2 exceeds"):
        ModalityMasker(["text"], keep_at_least=2)
    with pytest.raises(ValueError, match="keep_at_least=4 exceeds"):
        ModalityMasker(keep_at_least=4)(features, utterance_mask, 0.1, generator=generator)
    with pytest.raises(ValueError, match=r"rate must lie in \[0, 1\)"):
        ModalityMasker()(features, utterance_mask, 1.0, generator=generator)
    with pytest.raises(TypeError, match="non-empty mapping"):
        ModalityMasker()({}, utterance_mask, 0.1, generator=generator)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zero_fill_in_place_fills_the_given_tensors_as_the_copying_fill(dtype) -> None:
    from missing_modality import zero_fill

    features, utterance_mask = padded_batch(dtype)
    names = ("text", "audio", "video")
    present = torch.rand(4, 9, 3, generator=torch.Generator().manual_seed(1)) < 0.5
    copied = zero_fill(features, present, utterance_mask, names)
    owned = {name: value.clone() for name, value in features.items()}
    filled = zero_fill(owned, present, utterance_mask, names, inplace=True)
    for index, name in enumerate(names):
        assert filled[name] is owned[name]  # no new tensor
        assert torch.equal(filled[name], copied[name])
        dropped = utterance_mask & ~present[..., index]
        assert bool(dropped.any())
        assert bool((owned[name][dropped] == 0).all())
        assert torch.equal(features[name][~dropped], owned[name][~dropped])  # the rest untouched
