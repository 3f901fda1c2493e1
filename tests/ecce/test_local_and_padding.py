"""F_local's window convention, and padding: it never leaks, and padded rows/columns are proj(0)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ecce import ECCE, UtteranceConv


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("window", [1, 2, 3, 4, 7, 8])
def test_utterance_conv_sees_the_documented_window(window, causal) -> None:
    length = 12
    conv = UtteranceConv(1, 1, window, causal=causal).double()
    with torch.no_grad():
        conv.conv.weight.fill_(1.0)
        conv.conv.bias.zero_()
    for source in range(length):
        x = torch.zeros(1, length, 1, dtype=torch.float64)
        x[0, source] = 1.0
        seen_by = {int(i) for i in conv(x)[0, :, 0].nonzero()}
        if causal:
            expected = {i for i in range(length) if i - window + 1 <= source <= i}
        else:
            expected = {
                i for i in range(length) if i - (window - 1) // 2 <= source <= i + window // 2
            }
        assert seen_by == expected


def test_centred_window_of_seven_sees_three_each_side() -> None:
    conv = UtteranceConv(2, 3, 7)
    reference = nn.Conv1d(2, 3, 7, padding="same")
    reference.load_state_dict(conv.conv.state_dict())
    x = torch.randn(2, 10, 2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(conv(x), reference(x.transpose(1, 2)).transpose(1, 2))


@pytest.mark.parametrize(("pooling", "causal"), [("mean", False), ("max", True)])
def test_padding_never_leaks_into_real_utterances(make_batch, pooling, causal) -> None:
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = ECCE(4, 3, window=5, max_distance=6, pooling=pooling, causal=causal).double()
    x, mask = make_batch(4, 15, 4, generator=gen, dtype=torch.float64)
    x.requires_grad_()
    bias = model(x, mask)
    for b in range(4):
        n = int(mask[b].sum())
        alone = model(x[b : b + 1, :n].detach())[0]
        torch.testing.assert_close(bias[b, :, :n, :n], alone, atol=1e-12, rtol=0)
        far = model.proj.bias[:, None].expand(-1, 15 - n)
        torch.testing.assert_close(bias[b, :, n:, :].flatten(1), far.repeat(1, 15))
        torch.testing.assert_close(bias[b, :, :, n:].flatten(1), far.repeat(1, 15))
    bias.sum().backward()
    assert torch.isfinite(bias).all()
    assert (x.grad[~mask] == 0).all()


def test_non_finite_padding_stays_out(make_batch) -> None:
    gen = torch.Generator().manual_seed(1)
    model = ECCE(3, 2, window=3, max_distance=4)
    x, mask = make_batch(3, 9, 3, generator=gen)
    clean = model(x, mask)
    x[~mask] = float("nan")
    x[~mask & (torch.arange(9) % 2 == 0)] = float("inf")
    torch.testing.assert_close(model(x, mask), clean)


def test_beyond_max_distance_is_proj_of_zero() -> None:
    torch.manual_seed(0)
    model = ECCE(3, 2, max_distance=4)
    bias = model(torch.randn(2, 12, 3))
    far = (torch.arange(12)[:, None] - torch.arange(12)[None, :]).abs() >= 4
    expected = model.proj(torch.zeros(3))[None, :, None].expand(2, -1, int(far.sum()))
    torch.testing.assert_close(bias[:, :, far], expected)


def test_causal_rows_depend_on_the_past_only() -> None:
    gen = torch.Generator().manual_seed(4)
    model = ECCE(3, 2, window=4, max_distance=5, causal=True)
    x = torch.randn(1, 10, 3, generator=gen)
    changed = x.clone()
    changed[0, 6:] = torch.randn(4, 3, generator=gen)
    torch.testing.assert_close(model(changed)[:, :, :6], model(x)[:, :, :6])
    future = torch.ones(10, 10, dtype=torch.bool).triu(1)
    expected = model.proj.bias[None, :, None].expand(1, -1, int(future.sum()))
    torch.testing.assert_close(model(x)[:, :, future], expected)


def test_custom_local_module_and_shared_bias_without_proj_bias() -> None:
    local = nn.Sequential(nn.Linear(5, 7), nn.Tanh())
    model = ECCE(5, 1, local=local, hidden_dim=7, max_distance=3)
    model.proj = nn.Linear(7, 1, bias=False)
    bias = model(torch.randn(2, 6, 5))
    assert bias.shape == (2, 1, 6, 6)
    far = (torch.arange(6)[:, None] - torch.arange(6)[None, :]).abs() >= 3
    assert (bias[:, :, far] == 0).all()


def test_empty_batch_dimension_and_empty_conversation() -> None:
    model = ECCE(3, 2)
    assert model(torch.randn(2, 0, 3)).shape == (2, 2, 0, 0)
    bias = model(torch.randn(1, 4, 3), torch.zeros(1, 4, dtype=torch.bool))
    torch.testing.assert_close(bias, model.proj.bias[None, :, None, None].expand(1, 2, 4, 4))
