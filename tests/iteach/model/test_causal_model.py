"""The causal (online) ITEACH-Net: every output depends on its own and earlier utterances only,
so a prefix gives the whole conversation's outputs over that prefix; references for the causal
layers; the `causal` setting in the config and the baselines that refuse it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from iteach_app.config import ConfigError, to_toml
from iteach_app.model import (
    AvgPoolMixer,
    MaxPoolMixer,
    NASMixer,
    UtteranceMlpMixer,
    create_model,
)
from iteach_app.model.layers import masked_attention
from iteach_app.training.framework import build_framework

DIMS = {"text": 7, "audio": 5, "video": 3}


def _batch(generator: torch.Generator, batch: int, length: int, dtype: torch.dtype):
    """Random features, a mask with padding at the ends of rows, random missing modalities."""
    features = {
        m: torch.randn(batch, length, d, generator=generator, dtype=dtype) for m, d in DIMS.items()
    }
    lengths = torch.randint(1, length + 1, (batch,), generator=generator)
    lengths[0] = length
    mask = torch.arange(length)[None, :] < lengths[:, None]
    present = torch.rand(batch, length, len(DIMS), generator=generator) > 0.35
    return features, mask, present


def _model(name: str, ecce: str, dtype: torch.dtype, *, causal: bool = True, seed: int = 0):
    torch.manual_seed(seed)
    model = create_model(
        name, DIMS, 3, hidden_dim=16, num_heads=4, window=3, max_distance=4, ecce=ecce,
        causal=causal,
    )  # fmt: skip
    return model.to(dtype).eval()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["iteach_teacher", "iteach_student"])
@pytest.mark.parametrize("ecce", ["full", "global", "none"])
def test_prefix_outputs_equal_whole_conversation(name, ecce, dtype) -> None:
    generator = torch.Generator().manual_seed(hash((name, ecce)) % 1000)
    model = _model(name, ecce, dtype)
    features, mask, present = _batch(generator, 4, 13, dtype)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    with torch.no_grad():
        whole = model(features, mask, present)
        for t in (1, 2, 5, 9, 13):
            prefix = model({m: x[:, :t] for m, x in features.items()}, mask[:, :t], present[:, :t])
            diff = (prefix - whole[:, :t])[mask[:, :t]].abs().max()
            assert diff < tol, (t, float(diff))


def test_query_chunks_give_the_same_causal_outputs() -> None:
    generator = torch.Generator().manual_seed(3)
    model = _model("iteach_student", "full", torch.float64)
    features, mask, present = _batch(generator, 3, 11, torch.float64)
    with torch.no_grad():
        dense = (model.set_query_chunk(None), model(features, mask, present))[1]
        chunked = (model.set_query_chunk(3), model(features, mask, present))[1]
    assert torch.allclose(dense[mask], chunked[mask], atol=1e-10)


@pytest.mark.parametrize("causal", [True, False])
def test_future_changes_reach_the_past_only_when_not_causal(causal) -> None:
    generator = torch.Generator().manual_seed(5)
    model = _model("iteach_student", "full", torch.float32, causal=causal)
    features, mask, present = _batch(generator, 2, 10, torch.float32)
    mask[:] = True
    changed = {m: x.clone() for m, x in features.items()}
    for x in changed.values():
        x[:, 6:] = torch.randn(x[:, 6:].shape, generator=generator)
    with torch.no_grad():
        before, after = model(features, mask, present), model(changed, mask, present)
    past = (before[:, :6] - after[:, :6]).abs().max()
    assert (past == 0) if causal else (past > 1e-4)
    assert (before[:, 6:] - after[:, 6:]).abs().max() > 1e-4


def test_causal_training_step_has_finite_gradients() -> None:
    generator = torch.Generator().manual_seed(7)
    model = _model("iteach_student", "full", torch.float32).train()
    features, mask, present = _batch(generator, 3, 9, torch.float32)
    present[1, :, 1:] = False  # a conversation whose audio and video are always missing
    loss = model(features, mask, present)[mask].pow(2).mean()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads
    assert all(torch.isfinite(g).all() for g in grads)


def _reference_window(x: torch.Tensor, mask: torch.Tensor, k: int, reduce) -> torch.Tensor:
    """Loop reference: output i pools the real utterances among i-k+1 .. i; padding rows 0."""
    out = torch.zeros_like(x)
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            if mask[b, i]:
                rows = [j for j in range(max(0, i - k + 1), i + 1) if mask[b, j]]
                out[b, i] = reduce(x[b, rows])
    return out


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("padding", [False, True])
def test_causal_pooling_windows_match_a_loop(k, padding) -> None:
    generator = torch.Generator().manual_seed(k)
    x = torch.randn(3, 8, 6, generator=generator, dtype=torch.float64)
    mask = torch.ones(3, 8, dtype=torch.bool)
    if padding:
        mask[1, 5:] = False
        mask[2, 2:] = False
    avg = AvgPoolMixer(6, kernel_size=k, causal=True)(x, None, mask)
    peak = MaxPoolMixer(6, kernel_size=k, causal=True)(x, None, mask)
    assert torch.allclose(avg, _reference_window(x, mask, k, lambda r: r.mean(0)))
    assert torch.allclose(peak, _reference_window(x, mask, k, lambda r: r.max(0).values))


def test_causal_utterance_mlp_reads_the_last_k_utterances() -> None:
    generator = torch.Generator().manual_seed(11)
    mixer = UtteranceMlpMixer(4, kernel_size=3, causal=True).double().eval()
    x = torch.randn(2, 6, 4, generator=generator, dtype=torch.float64)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    out = mixer(x, None, mask)
    weight, bias = mixer.window.weight, mixer.window.bias  # (hidden, D, k)
    x = x.masked_fill(~mask[..., None], 0.0)
    padded = F.pad(x, (0, 0, 2, 0))  # two zero utterances before the first
    for b in range(2):
        for i in range(6):
            window = padded[b, i : i + 3]  # utterances i-2 .. i
            hidden = torch.einsum("kd,hdk->h", window, weight) + bias
            expected = mixer.fc(F.gelu(hidden)) if mask[b, i] else torch.zeros(4).double()
            assert torch.allclose(out[b, i], expected, atol=1e-12)


def test_nas_mixer_passes_causal_to_every_candidate() -> None:
    mixer = NASMixer(8, 2, causal=True)
    assert all(candidate.causal for candidate in mixer.candidates)


def test_causal_masked_attention_matches_a_loop() -> None:
    generator = torch.Generator().manual_seed(13)
    q, k, v = (torch.randn(2, 2, 6, 4, generator=generator, dtype=torch.float64) for _ in "qkv")
    valid = torch.rand(2, 6, generator=generator) > 0.5
    valid[0, 0] = False
    valid[1] = False
    valid[1, 3] = True
    for chunk in (None, 4):
        out = masked_attention(q, k, v, valid, query_chunk=chunk, causal=True)
        for b in range(2):
            for i in range(6):
                keys = [j for j in range(i + 1) if valid[b, j]]
                if not keys:
                    assert out[b, :, i].abs().max() == 0
                    continue
                logits = torch.einsum("hd,hnd->hn", q[b, :, i], k[b][:, keys]) / 2.0
                expected = torch.einsum("hn,hnd->hd", logits.softmax(-1), v[b][:, keys])
                assert torch.allclose(out[b, :, i], expected, atol=1e-12)


def test_causal_is_a_recorded_setting(make_config) -> None:
    config = make_config(causal=True)
    assert "causal = true" in to_toml(config)
    assert config.config_hash() != make_config().config_hash()
    model = build_framework(config, {"text": 8, "audio": 4, "video": 6}, 4, "classification")
    assert model.student.causal
    assert model.teacher.causal
    assert all(ecce.causal for ecce in model.student.ecce.values())


def test_a_causal_run_is_named_so(make_config) -> None:
    from iteach_app.training.run_folder import run_name

    assert run_name(make_config(causal=True)) == "synthetic-iemocap4-its-causal-seed0"
    assert run_name(make_config()) == "synthetic-iemocap4-its-seed0"


def test_default_stays_offline(make_config) -> None:
    model = build_framework(make_config(), {"text": 8, "audio": 4, "video": 6}, 4, "classification")
    assert not model.student.causal
    assert not any(ecce.causal for ecce in model.student.ecce.values())


def test_gcnet_refuses_causal_and_names_the_causal_models(make_config) -> None:
    with pytest.raises(ConfigError, match=r"'gcnet' cannot be causal .*ae, cpm, cra, mmin"):
        make_config(model="gcnet", causal=True)
    for name in ("ae", "cra", "mmin", "cpm"):
        epochs = {"epochs": 12} if name == "mmin" else {}
        assert make_config(model=name, causal=True, **epochs).causal
