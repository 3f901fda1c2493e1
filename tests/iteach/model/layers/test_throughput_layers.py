"""The throughput layers: FastDropout (distribution, seeding, gradient, swap), packing of real rows,
and the MetaFormer block's packed MLP against a padded reference, float32 and float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from iteach_app.model import ITEACHNet
from iteach_app.model.layers import AttentionMixer, MetaFormerBlock, NASMixer
from iteach_app.model.layers.chunked import attend
from iteach_app.model.layers.dropout import FastDropout, keep_mask, use_fast_dropout
from iteach_app.model.layers.packing import pack, real_rows, unpack

DTYPES = [torch.float32, torch.float64]


def _mask(lengths: list[int]) -> torch.Tensor:
    return torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_keep_mask_drops_p_and_keeps_expectation_one(p: float) -> None:
    torch.manual_seed(0)
    mask = keep_mask(torch.Size([400, 1000]), p, torch.float64)
    dropped = (mask == 0).double().mean().item()
    assert abs(dropped - p) < 0.005
    assert set(torch.unique(mask).tolist()) == {0.0, mask.max().item()}
    assert abs(mask.mean().item() - 1.0) < 0.01


def test_keep_mask_lanes_are_independent_of_position() -> None:
    torch.manual_seed(1)
    mask = keep_mask(torch.Size([4 * 100_000]), 0.5, torch.float32).view(-1, 4)
    kept_per_lane = (mask > 0).float().mean(0)
    assert torch.all((kept_per_lane - 0.5).abs() < 0.01), kept_per_lane


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_dropout_is_seeded_and_its_gradient_is_the_mask(dtype: torch.dtype) -> None:
    drop = FastDropout(0.3).train()
    x = torch.randn(3, 7, 5, dtype=dtype, requires_grad=True)
    torch.manual_seed(5)
    first = drop(x)
    torch.manual_seed(5)
    again = drop(x)
    torch.testing.assert_close(first, again)
    assert not torch.equal(drop(x), first)
    first.sum().backward()
    torch.testing.assert_close(x.grad * x.detach(), first.detach())
    assert first.dtype == dtype


def test_fast_dropout_is_identity_in_eval_and_follows_f_dropout_at_the_ends() -> None:
    x = torch.randn(4, 6)
    assert torch.equal(FastDropout(0.3).eval()(x), x)
    assert torch.equal(FastDropout(0.0).train()(x), x)
    assert torch.equal(FastDropout(1.0).train()(x), torch.zeros_like(x))


def test_use_fast_dropout_swaps_every_dropout_and_keeps_the_state_dict() -> None:
    torch.manual_seed(0)
    model = ITEACHNet({"text": 6, "audio": 4}, 3, hidden_dim=8, num_heads=2, mixer="nas")
    kinds = {type(m) for m in model.modules() if isinstance(m, nn.Dropout)}
    assert kinds == {FastDropout}
    plain = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.2), nn.Sequential(nn.Dropout(0.4)))
    keys = set(plain.state_dict())
    assert use_fast_dropout(plain) == 2
    assert [m.p for m in plain.modules() if isinstance(m, FastDropout)] == [0.2, 0.4]
    assert set(plain.state_dict()) == keys


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lengths", [[5, 2, 4], [1, 6], [3, 1]])
def test_pack_and_unpack_round_trip_with_zero_padding(lengths: list[int], dtype) -> None:
    mask = _mask(lengths)
    x = torch.randn(*mask.shape, 3, dtype=dtype)
    rows = real_rows(mask)
    packed = pack(x, rows)
    assert packed.shape == (sum(lengths), 3)
    torch.testing.assert_close(packed, x[mask])
    back = unpack(packed, rows, *mask.shape)
    torch.testing.assert_close(back, torch.where(mask[..., None], x, torch.zeros_like(x)))


def test_no_padding_means_no_gather() -> None:
    mask = torch.ones(2, 4, dtype=torch.bool)
    x = torch.randn(2, 4, 3)
    assert real_rows(mask) is None
    assert pack(x, None) is x
    assert unpack(x, None, 2, 4) is x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mixer_cls", [NASMixer])
def test_packed_block_matches_the_padded_reference_on_real_rows(dtype, mixer_cls) -> None:
    torch.manual_seed(3)
    block = MetaFormerBlock(8, mixer_cls, num_heads=2).to(dtype).eval()
    mask = _mask([6, 3, 5])
    x = torch.randn(*mask.shape, 8, dtype=dtype, requires_grad=True)
    out = block(x, None, mask)
    mixed = x + block.mixer(block.norm1(x), None, mask)
    reference = mixed + block.mlp(block.norm2(mixed))
    torch.testing.assert_close(out[mask], reference[mask])
    torch.testing.assert_close(out[~mask], mixed[~mask])
    (grad,) = torch.autograd.grad(out[mask].sum(), x)
    (expected,) = torch.autograd.grad(reference[mask].sum(), x)
    torch.testing.assert_close(grad, expected)


def _reference_attention(q, k, v, mask):
    logits = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5 + mask
    return logits.softmax(-1) @ v


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("heads_in_mask", [1, 3])
def test_attend_with_a_learned_mask_matches_the_softmax_formula(dtype, heads_in_mask) -> None:
    gen = torch.Generator().manual_seed(heads_in_mask)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=gen, dtype=dtype) for _ in range(3))
    bias = torch.randn(2, heads_in_mask, 5, 5, generator=gen, dtype=dtype)
    keys = _mask([5, 3])
    inputs = [t.clone().requires_grad_() for t in (q, k, v, bias)]
    mask = inputs[3].masked_fill(~keys[:, None, None, :], float("-inf"))
    out = attend(*inputs[:3], mask, 0.0)
    expected = _reference_attention(*inputs[:3], mask)
    torch.testing.assert_close(out, expected)
    weights = torch.randn(out.shape, generator=gen, dtype=dtype)
    grads = torch.autograd.grad((out * weights).sum(), inputs, retain_graph=True)
    reference = torch.autograd.grad((expected * weights).sum(), inputs)
    for grad, want in zip(grads, reference, strict=True):
        torch.testing.assert_close(grad, want)


@pytest.mark.parametrize("mixer", ["attention", "nas"])
def test_folding_padded_keys_into_the_bias_changes_no_logit(mixer: str) -> None:
    torch.manual_seed(0)
    model = ITEACHNet({"text": 6, "audio": 4}, 3, hidden_dim=8, num_heads=2, mixer=mixer).eval()
    mask = _mask([7, 2, 5])
    features = {"text": torch.randn(3, 7, 6), "audio": torch.randn(3, 7, 4)}
    folded = model(features, mask)
    assert model.keys_in_bias
    model.keys_in_bias = False
    for module in model.modules():
        if isinstance(module, AttentionMixer):
            module.keys_in_bias = False
    torch.testing.assert_close(model(features, mask)[mask], folded[mask])
