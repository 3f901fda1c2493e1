"""Feature standardisation inside the model: FeatureStandardizer numerics, statistics fit on the
training split only, stored in the checkpoint and reused by evaluate; `none` is the identity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from erc_data import ERCDataset, Standardizer
from erc_data.conversation import Conversation
from erc_data.synthetic import write_gcnet_layout
from iteach_app.data import build_splits
from iteach_app.model import FeatureStandardizer, ITEACHNet
from iteach_app.model.baselines.ae import AE
from iteach_app.training.evaluation import evaluate_run
from iteach_app.training.trainer import Trainer, fit_input_statistics
from tests.iteach.conftest import with_features

DIMS = {"text": 5, "audio": 3}


def _state(dtype=np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        f"{m}.{kind}": (rng.random(d) + 0.5 if kind == "std" else rng.normal(size=d)).astype(dtype)
        for m, d in DIMS.items()
        for kind in ("mean", "std")
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_standardizer_matches_a_reference_loop_and_zeros_missing_and_padding(dtype) -> None:
    layer = FeatureStandardizer(DIMS).to(dtype)
    state = _state()
    layer.load_statistics(state)
    gen = torch.Generator().manual_seed(1)
    features = {m: 50 * torch.randn(2, 4, d, generator=gen, dtype=dtype) for m, d in DIMS.items()}
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    present = torch.ones(2, 4, 2, dtype=torch.bool)
    present[0, 1, 1] = False  # audio of utterance 1 missing
    out = layer(features, mask, present)
    for index, (m, d) in enumerate(DIMS.items()):
        assert out[m].dtype == dtype
        for b in range(2):
            for t in range(4):
                for k in range(d):
                    if mask[b, t] and present[b, t, index]:
                        mean, std = float(state[f"{m}.mean"][k]), float(state[f"{m}.std"][k])
                        expected = (float(features[m][b, t, k]) - mean) / std
                    else:
                        expected = 0.0
                    assert float(out[m][b, t, k]) == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_identity_by_default_and_after_an_empty_state() -> None:
    layer = FeatureStandardizer(DIMS)
    assert layer.is_identity
    features = {m: torch.randn(1, 3, d) for m, d in DIMS.items()}
    mask = torch.ones(1, 3, dtype=torch.bool)
    for m, x in layer(features, mask).items():
        assert torch.equal(x, features[m])
    layer.load_statistics(_state())
    assert not layer.is_identity
    layer.load_statistics({})
    assert layer.is_identity


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.pop("audio.std"), "lack 'audio.std'"),
        (lambda s: s.__setitem__("text.mean", np.zeros(4)), r"'text.mean' have shape \(4,\)"),
        (lambda s: s.__setitem__("text.std", np.zeros(5)), "'text.std' hold NaN, inf or std <= 0"),
        (lambda s: s.__setitem__("audio.mean", np.full(3, np.nan)), "'audio.mean' hold NaN"),
    ],
)
def test_bad_statistics_are_refused_naming_the_key(change, match: str) -> None:
    state = _state()
    change(state)
    with pytest.raises((KeyError, ValueError), match=match):
        FeatureStandardizer(DIMS).load_statistics(state)


def test_baselines_take_the_standardizer_at_their_input() -> None:
    model = AE(DIMS, 3).eval()
    state = _state()
    features = {m: torch.randn(1, 4, d) for m, d in DIMS.items()}
    mask = torch.ones(1, 4, dtype=torch.bool)
    by_hand = {
        m: (x - torch.from_numpy(state[f"{m}.mean"])) / torch.from_numpy(state[f"{m}.std"])
        for m, x in features.items()
    }
    expected = model(by_hand, mask)
    model.standardizer.load_statistics(state)
    torch.testing.assert_close(model(features, mask), expected)


def _scaled(dataset: ERCDataset, factor: float) -> ERCDataset:
    """``dataset`` with every feature multiplied by ``factor`` (same conversations otherwise)."""
    return with_features(
        dataset, lambda c: {m: (x * factor).astype(np.float32) for m, x in c.features.items()}
    )


def _standardizers(trainer: Trainer) -> list[FeatureStandardizer]:
    return [m for m in trainer.model.modules() if isinstance(m, FeatureStandardizer)]


def test_trainer_fits_on_train_only_and_loads_teacher_and_student(
    tiny_data, make_config, tmp_path
) -> None:
    config = make_config()
    trainer = Trainer(config, tmp_path / "a", data=tiny_data, verbose=False)
    layers = _standardizers(trainer)
    assert len(layers) == 2  # teacher and student
    expected = Standardizer().fit(tiny_data.train).state_dict()
    for layer in layers:
        for m, stats in layer.stats.items():
            np.testing.assert_allclose(stats.mean.numpy(), expected[f"{m}.mean"], rtol=1e-6)
            np.testing.assert_allclose(stats.std.numpy(), expected[f"{m}.std"], rtol=1e-6)
    # Validation and test data 100x larger: the statistics do not move.
    other = type(tiny_data)(
        tiny_data.dataset,
        tiny_data.train,
        _scaled(tiny_data.val, 100),
        _scaled(tiny_data.test, 100),
    )
    again = Trainer(config, tmp_path / "b", data=other, verbose=False)
    for first, second in zip(layers, _standardizers(again), strict=True):
        for m in first.stats:
            assert torch.equal(first.stats[m].mean, second.stats[m].mean)
            assert torch.equal(first.stats[m].std, second.stats[m].std)


def test_none_leaves_the_models_identity(tiny_data, make_config, tmp_path) -> None:
    trainer = Trainer(make_config(standardize="none"), tmp_path, data=tiny_data, verbose=False)
    assert all(layer.is_identity for layer in _standardizers(trainer))


def test_evaluate_after_reload_gives_the_training_numbers(make_config, tmp_path) -> None:
    source = make_config()
    scaled = _scaled(build_splits(source).dataset, 40.0)
    folder = write_gcnet_layout(scaled, tmp_path / "data", "IEMOCAPFour")
    features = {m: f"{m}-{d}-UTT" for m, d in scaled.modality_dims.items()}
    config = make_config(
        synthetic=None, data=str(folder), dataset="IEMOCAPFour", features=features, epochs=1
    )
    config.fold = 5
    result = Trainer(config, tmp_path / "run", verbose=False).fit()
    _, again = evaluate_run(tmp_path / "run", device="cpu", split="test")
    assert again.average == result.ume.average
    assert again.per_rate == result.ume.per_rate


def test_zero_std_warns_in_one_line_and_nan_is_an_error_naming_the_modality(tiny_data) -> None:
    model = ITEACHNet(tiny_data.modality_dims, 4, num_layers=1, hidden_dim=16, num_heads=2)

    def with_audio(value: float) -> ERCDataset:
        convs = [
            Conversation(
                c.id,
                c.utterance_ids,
                c.speakers,
                c.labels,
                {**c.features, "audio": np.full_like(c.features["audio"], value)},
            )
            for c in tiny_data.train
        ]
        return ERCDataset(
            convs,
            name="t",
            task="classification",
            num_classes=4,
            modality_dims=tiny_data.modality_dims,
        )

    notes = fit_input_statistics(model, with_audio(3.0), "standard")
    assert len(notes) == 1
    assert "'audio'" in notes[0]
    assert "\n" not in notes[0]
    assert "kept" in notes[0]
    with pytest.raises(ValueError, match="'audio' has NaN or inf"):
        fit_input_statistics(model, with_audio(float("nan")), "standard")
