"""Planted tests of robust fusion: a modality of pure noise at 30x the scale of the
others must not drag the trained model down (test UME average within 0.03 of the same model
trained without it), on synthetic data and on real IEMOCAP text; and the mechanisms' contracts.

The UME is taken at rate 0: at a rate r > 0 an extra modality changes what the masker hides (with
text + noise, text is hidden in about half the utterances at rate 0.6; with text alone, never), so
the two models would not be scored on the same evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from erc_data import ERCDataset, load_gcnet
from erc_data.synthetic import write_gcnet_layout
from iteach_app.data import build_splits, synthetic_dataset
from iteach_app.model import CrossFusionBlock, ITEACHNet
from iteach_app.training.trainer import Trainer
from tests.iteach.conftest import with_noise

NOISE_SCALE = 30.0
RECIPE = {
    "framework": "pre",
    "student": "attention",
    "student_layers": 2,
    "hidden_dim": 32,
    "num_heads": 4,
    "mlp_ratio": 2.0,
    "window": 3,
    "max_distance": 6,
    "batch_size": 8,
    "lr": 2e-3,
    "device": "cpu",
    "checkpoint_every": 0,
    "eval_rates": [0.0],
}


def _test_waf_average(config, run_dir: Path, dataset: ERCDataset | None = None) -> float:
    data = build_splits(config, dataset)
    return Trainer(config, run_dir, data=data, verbose=False).fit().ume.average["waf"]


def test_synthetic_noise_modality_at_30x_scale_does_not_drag_the_model_down(
    tmp_path, make_config
) -> None:
    dims = {"text": 12, "audio": 8}
    config = make_config(
        **RECIPE,
        synthetic="iemocap4",
        synthetic_dialogues=60,
        synthetic_dims=dims,
        synthetic_max_length=16,
        epochs=8,
        val_fraction=0.2,
    )
    clean = synthetic_dataset("iemocap4", seed=0, num_dialogues=60, dims=dims, max_length=16)
    noisy = with_noise(clean, 24, NOISE_SCALE)
    assert np.std(noisy[0].features["noise"]) > 10 * np.std(clean[0].features["text"])
    without = _test_waf_average(config, tmp_path / "clean", clean)
    with_it = _test_waf_average(config, tmp_path / "noisy", noisy)
    assert without > 0.5, f"the planted signal was not learned (test WAF average {without:.3f})"
    assert with_it >= without - 0.03, (without, with_it)


def test_real_iemocap_text_plus_noise_modality(shared_data: Path, tmp_path, make_config) -> None:
    text = load_gcnet(
        shared_data / "IEMOCAP", "IEMOCAPFour", {"text": "minilm-384-UTT"}, cache_dir=False
    )
    # Unit-norm 384-d text (per-dim std ~0.05) against 128-d noise of per-dim std 1.5: 30x.
    noisy = with_noise(text, 128, 1.5)
    folder = write_gcnet_layout(
        noisy, tmp_path / "data", "IEMOCAPFour", {"text": "text-UTT", "noise": "noise-UTT"}
    )

    def run(features: dict[str, str], name: str) -> float:
        real = {"data": str(folder), "dataset": "IEMOCAPFour", "features": features}
        config = make_config(**{**RECIPE, "batch_size": 16}, synthetic=None, epochs=4, **real)
        config.fold = 5
        return _test_waf_average(config, tmp_path / name)

    without = run({"text": "text-UTT"}, "text")
    # A release dataset's modalities are text / audio / video: the noise folder is read as audio.
    with_it = run({"text": "text-UTT", "audio": "noise-UTT"}, "text+noise")
    assert without > 0.5, f"text alone was not learned (test WAF average {without:.3f})"
    assert with_it >= without - 0.03, (without, with_it)


def test_gated_fusion_starts_as_the_query_alone() -> None:
    torch.manual_seed(0)
    block = CrossFusionBlock(16, 4, gated_fusion=True)
    query, context = torch.randn(2, 5, 16), 100 * torch.randn(2, 5, 16)
    valid = torch.ones(2, 5, dtype=torch.bool)
    assert torch.equal(block(query, context, valid), query)
    with torch.no_grad():
        block.gate.fill_(0.5)
    assert not torch.allclose(block(query, context, valid), query)
    plain = CrossFusionBlock(16, 4)
    assert plain.gate is None
    assert not torch.allclose(plain(query, context, valid), query)


def test_input_norm_makes_the_projection_scale_free() -> None:
    torch.manual_seed(0)
    dims = {"text": 6, "audio": 4}
    model = ITEACHNet(dims, 3, num_layers=1, hidden_dim=16, num_heads=2, input_norm=True).eval()
    features = {name: torch.randn(2, 5, d) for name, d in dims.items()}
    mask = torch.ones(2, 5, dtype=torch.bool)
    scaled = {**features, "audio": 1000 * features["audio"]}
    with torch.no_grad():
        for proj in model.input_proj.values():
            proj.bias.zero_()
        assert torch.allclose(model(scaled, mask), model(features, mask), atol=1e-4)
