"""The low-memory paths give the dense path's numbers. Query-blocked self- and
cross-attention (with padding), on-demand ECCE biases without autograd, activation
checkpointing in training (same gradients), and UME evaluation of one long conversation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from erc_data import Conversation, collate_conversations
from iteach_app.config import resolve
from iteach_app.model import ITEACHNet
from iteach_app.model.layers.chunked import AttentionMixer
from iteach_app.model.layers.masking import masked_attention
from iteach_app.training.evaluation import evaluate_student
from iteach_app.training.framework import build_framework

DIMS = {"text": 6, "audio": 4, "video": 5}
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _inputs(dtype: torch.dtype, lengths=(23, 9, 1), seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    length = max(lengths)
    features = {
        m: torch.randn(len(lengths), length, d, generator=gen, dtype=dtype) for m, d in DIMS.items()
    }
    mask = torch.arange(length)[None] < torch.tensor(lengths)[:, None]
    present = torch.rand(len(lengths), length, len(DIMS), generator=gen) < 0.7
    return features, mask, present


def _model(dtype: torch.dtype, mixer: str = "attention", **kw) -> ITEACHNet:
    torch.manual_seed(0)
    model = ITEACHNet(
        DIMS,
        4,
        num_layers=2,
        mixer=mixer,
        hidden_dim=16,
        num_heads=2,
        ecce_dim=8,
        max_distance=5,
        **kw,
    )
    return model.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("chunk", [1, 4, 7])
def test_attention_mixer_blocks_match_dense(dtype: torch.dtype, chunk: int) -> None:
    torch.manual_seed(1)
    mixer = AttentionMixer(8, num_heads=2).to(dtype)
    x = torch.randn(3, 10, 8, dtype=dtype)
    mask = torch.arange(10)[None] < torch.tensor([10, 4, 0])[:, None]
    for bias in (
        torch.randn(3, 2, 10, 10, dtype=dtype),
        torch.randn(3, 1, 10, 10, dtype=dtype),
        None,
    ):
        mixer.query_chunk = None
        dense = mixer(x, bias, mask)
        mixer.query_chunk = chunk
        blocked = mixer(x, bias, mask)
        assert torch.isfinite(blocked).all()
        torch.testing.assert_close(blocked, dense, rtol=TOL[dtype], atol=TOL[dtype])


def test_attention_mixer_blocks_reject_bad_bias_shape() -> None:
    mixer = AttentionMixer(8, num_heads=2)
    mixer.query_chunk = 3
    with pytest.raises(ValueError, match="bias has shape"):
        mixer(torch.randn(1, 10, 8), torch.randn(1, 3, 10, 10), None)
    with pytest.raises(ValueError, match="utterance_mask"):
        mixer(torch.randn(1, 10, 8), None, torch.ones(1, 9, dtype=torch.bool))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_masked_attention_blocks_match_dense(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(3, 2, 11, 4, generator=gen, dtype=dtype) for _ in range(3))
    key_valid = torch.arange(11)[None] < torch.tensor([11, 5, 0])[:, None]
    bias = torch.randn(3, 2, 11, 11, generator=gen, dtype=dtype)
    dense = masked_attention(q, k, v, key_valid, bias)
    blocked = masked_attention(q, k, v, key_valid, bias, query_chunk=3)
    torch.testing.assert_close(blocked, dense, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mixer", ["attention", "nas"])
def test_model_low_memory_inference_matches_dense(dtype: torch.dtype, mixer: str) -> None:
    features, mask, present = _inputs(dtype)
    model = _model(dtype, mixer, query_chunk=None).eval()
    with torch.enable_grad():  # the dense reference: biases computed once and kept
        dense = model(features, mask, present).detach()
    model.set_query_chunk(5)
    with torch.no_grad():  # on-demand biases and query blocks
        low = model(features, mask, present)
    valid = mask[..., None].expand_as(low)
    torch.testing.assert_close(low[valid], dense[valid], rtol=TOL[dtype], atol=TOL[dtype])


def test_query_chunk_is_checked() -> None:
    with pytest.raises(ValueError, match="query_chunk"):
        _model(torch.float32, query_chunk=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_activation_checkpointing_gives_same_gradients(dtype: torch.dtype) -> None:
    features, mask, present = _inputs(dtype, seed=3)
    grads = []
    for checkpointing in (False, True):
        model = _model(dtype, "nas", activation_checkpointing=checkpointing, dropout=0.2).train()
        torch.manual_seed(5)  # same dropout draws; checkpoint replays the RNG state
        logits = model(features, mask, present)
        logits[mask].square().sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0]
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(
            grads[1][name], grads[0][name], rtol=TOL[dtype], atol=TOL[dtype], msg=name
        )


def test_evaluate_long_conversation_low_memory() -> None:
    rng = np.random.default_rng(0)
    length = 500
    conv = Conversation(
        "long",
        [f"u{i}" for i in range(length)],
        np.zeros(length, dtype=np.int64),
        rng.integers(0, 4, length),
        {m: rng.standard_normal((length, d)).astype(np.float32) for m, d in DIMS.items()},
    )
    batch = collate_conversations([conv])
    model = _model(torch.float32, "nas", query_chunk=64)
    result = evaluate_student(
        model, [batch], task="classification", rates=[0.0, 0.5], seed=0, keep_at_least=1
    )
    model.set_query_chunk(None)
    dense = evaluate_student(
        model, [batch], task="classification", rates=[0.0, 0.5], seed=0, keep_at_least=1
    )
    assert result == dense


def test_activation_checkpointing_setting_reaches_both_models() -> None:
    for value in (False, True):
        overrides = {"synthetic": "iemocap4", "device": "cpu", "activation_checkpointing": value}
        framework = build_framework(resolve(overrides=overrides), DIMS, 4, "classification")
        assert framework.student.activation_checkpointing is value
        assert framework.teacher.activation_checkpointing is value
