"""The app's own LayerNorm / Mlp / DropPath replace timm's without changing a saved model.

`data/timm_encoder_layer.safetensors` was written by the timm-based EncoderLayer (dim 8, two
modalities, dropout 0.1, drop path 0.2): its state dict, an input, and the outputs in eval mode and
in training mode after `torch.manual_seed(7)`. Loading it strictly and reproducing both outputs
shows the parameter names, the defaults and the order of random draws are unchanged.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from iteach_app.model.layers import AttentionMixer, EncoderLayer
from iteach_app.model.layers.common import DropPath, LayerNorm, Mlp

FIXTURE = Path(__file__).parent / "data" / "timm_encoder_layer.safetensors"


def _saved() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    tensors = load_file(FIXTURE)
    state = {k.removeprefix("state."): v for k, v in tensors.items() if k.startswith("state.")}
    return state, tensors


def test_a_state_dict_saved_with_timm_layers_loads_and_reproduces_its_outputs() -> None:
    state, tensors = _saved()
    layer = EncoderLayer(
        ("text", "audio"), 8, AttentionMixer, num_heads=2, mlp_ratio=2.0, drop=0.1, drop_path=0.2
    )
    layer.load_state_dict(state, strict=True)
    x = {m: tensors[f"input.{m}"] for m in ("text", "audio")}
    mask = tensors["input.mask"].bool()
    valid = {m: mask for m in x}
    layer.eval()
    with torch.no_grad():
        torch.testing.assert_close(layer(x, {}, mask, valid)["text"], tensors["output.eval"])
    layer.train()
    torch.manual_seed(7)
    with torch.no_grad():
        out = layer(x, {}, mask, valid)["text"]
    torch.testing.assert_close(out, tensors["output.train_seed7"])


def test_layer_norm_uses_the_transformer_epsilon() -> None:
    assert LayerNorm(4).eps == 1e-6


def test_mlp_matches_two_linears_with_gelu() -> None:
    mlp = Mlp(6, 10, drop=0.0).double()
    x = torch.randn(3, 5, 6, dtype=torch.float64)
    ref = mlp.fc2(torch.nn.functional.gelu(mlp.fc1(x)))
    torch.testing.assert_close(mlp(x), ref)
    assert set(mlp.state_dict()) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}


def test_drop_path_drops_whole_samples_and_keeps_the_expectation() -> None:
    drop = DropPath(0.25)
    x = torch.ones(4000, 3, 2)
    drop.train()
    out = drop(x)
    per_sample = out.flatten(1)
    assert torch.all(per_sample == per_sample[:, :1])  # one draw per sample
    values = per_sample[:, 0]
    assert torch.all((values == 0) | torch.isclose(values, torch.tensor(1 / 0.75)))
    assert abs(out.mean().item() - 1.0) < 0.05
    drop.eval()
    assert drop(x) is x
