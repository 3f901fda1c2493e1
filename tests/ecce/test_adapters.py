"""Each adapter against the attention it targets (SDPA, nn.MultiheadAttention, TransformerEncoder,
FlexAttention), and BiasedSelfAttention against a plain per-head loop."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ecce import (
    ECCE,
    BiasedSelfAttention,
    as_score_mod,
    mha_fastpath_disabled,
    to_mha_mask,
    to_sdpa_mask,
)

DIM, HEADS = 8, 2


def plain_attention(q, k, v, bias, mask, causal=False) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + bias) v over the allowed keys, one (b, h, i) at a time."""
    batch, heads, length, _ = q.shape
    out = torch.zeros_like(q)
    for b in range(batch):
        for h in range(heads):
            for i in range(length):
                keys = [j for j in range(length) if mask[b, j] and (j <= i or not causal)]
                keys = keys or list(range(length))
                scores = q[b, h, i] @ k[b, h, keys].T / math.sqrt(q.shape[-1])
                weights = torch.softmax(scores + bias[b, h % bias.shape[1], i, keys], -1)
                out[b, h, i] = weights @ v[b, h, keys]
    return out


def attention_by_hand(attention: BiasedSelfAttention, x, bias, mask, causal=False) -> torch.Tensor:
    batch, length, dim = x.shape
    q, k, v = attention.qkv(x).view(batch, length, 3, HEADS, dim // HEADS).permute(2, 0, 3, 1, 4)
    out = plain_attention(q, k, v, bias, mask, causal).transpose(1, 2).reshape(batch, length, dim)
    return attention.proj(out)


def biased_batch(make_batch, seed: int, heads: int = HEADS):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x, mask = make_batch(3, 9, DIM, generator=gen)
    mask[2] = False
    x = torch.where(mask[..., None], x, 0.0)
    bias = ECCE(DIM, heads, window=3, max_distance=4)(x, mask).detach()
    return x, mask, bias


def attention_like(mha: nn.MultiheadAttention) -> BiasedSelfAttention:
    attention = BiasedSelfAttention(DIM, HEADS)
    with torch.no_grad():
        attention.qkv.weight.copy_(mha.in_proj_weight)
        attention.qkv.bias.copy_(mha.in_proj_bias)
        attention.proj.load_state_dict(mha.out_proj.state_dict())
    return attention


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_mask_adds_the_bias_and_hides_padding(make_batch, causal) -> None:
    _, mask, bias = biased_batch(make_batch, 0)
    q, k, v = torch.randn(3, 3, HEADS, 9, 4, generator=torch.Generator().manual_seed(1))
    attn_mask = to_sdpa_mask(bias, mask, causal=causal)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, plain_attention(q, k, v, bias, mask, causal))


def test_sdpa_mask_without_padding_is_the_bias() -> None:
    bias = torch.randn(2, 3, 4, 4)
    assert to_sdpa_mask(bias) is bias


@pytest.mark.parametrize("causal", [False, True])
def test_biased_self_attention_matches_multihead_attention(make_batch, causal) -> None:
    x, mask, bias = biased_batch(make_batch, 2)
    mha = nn.MultiheadAttention(DIM, HEADS, batch_first=True)
    attention = attention_like(mha)
    attention.causal = causal
    expected = mha(x, x, x, attn_mask=to_mha_mask(bias, mask, causal=causal), need_weights=False)[0]
    out = attention(x, bias, mask)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out, attention_by_hand(attention, x, bias, mask, causal))


def test_biased_self_attention_shares_a_one_head_bias(make_batch) -> None:
    x, mask, bias = biased_batch(make_batch, 3, heads=1)
    mha = nn.MultiheadAttention(DIM, HEADS, batch_first=True)
    attention = attention_like(mha)
    expected = mha(x, x, x, attn_mask=to_mha_mask(bias, mask, num_heads=HEADS), need_weights=False)
    torch.testing.assert_close(attention(x, bias, mask), expected[0])


def test_biased_self_attention_without_bias(make_batch) -> None:
    x, mask, _ = biased_batch(make_batch, 4)
    mha = nn.MultiheadAttention(DIM, HEADS, batch_first=True)
    attention = attention_like(mha)
    torch.testing.assert_close(attention(x), mha(x, x, x, need_weights=False)[0])
    expected = mha(x[:2], x[:2], x[:2], key_padding_mask=~mask[:2], need_weights=False)[0]
    torch.testing.assert_close(attention(x, utterance_mask=mask)[:2], expected)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_transformer_encoder_layer_takes_the_mha_mask(make_batch, mode) -> None:
    x, mask, bias = biased_batch(make_batch, 5)
    layer = nn.TransformerEncoderLayer(
        DIM, HEADS, dim_feedforward=16, dropout=0.0, batch_first=True
    )
    layer.train(mode == "train")
    attention = attention_like(layer.self_attn)
    with torch.no_grad(), mha_fastpath_disabled():
        out = layer(x, src_mask=to_mha_mask(bias, mask))
        unbiased = layer(x, src_mask=to_mha_mask(torch.zeros_like(bias), mask))
    assert torch.backends.mha.get_fastpath_enabled()
    with torch.no_grad():
        h = layer.norm1(x + attention_by_hand(attention, x, bias, mask))
        expected = layer.norm2(h + layer.linear2(F.relu(layer.linear1(h))))
    torch.testing.assert_close(out, expected)
    assert not torch.allclose(out, unbiased)


def test_stock_transformer_encoder_stacks_biased_layers(make_batch) -> None:
    x, mask, bias = biased_batch(make_batch, 6)
    layer = nn.TransformerEncoderLayer(
        DIM, HEADS, dim_feedforward=16, dropout=0.0, batch_first=True
    )
    encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    attn_mask = to_mha_mask(bias, mask)
    out = encoder(x, mask=attn_mask)
    expected = encoder.layers[1](encoder.layers[0](x, src_mask=attn_mask), src_mask=attn_mask)
    torch.testing.assert_close(out, expected)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(("heads", "causal"), [(HEADS, False), (HEADS, True), (1, False)])
def test_score_mod_matches_sdpa_in_flex_attention(make_batch, heads, causal) -> None:
    flex = pytest.importorskip(
        "torch.nn.attention.flex_attention", reason="this torch has no FlexAttention"
    )
    _, mask, bias = biased_batch(make_batch, 7, heads=heads)
    q, k, v = torch.randn(3, 3, HEADS, 9, 4, generator=torch.Generator().manual_seed(8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = flex.flex_attention(q, k, v, score_mod=as_score_mod(bias, mask, causal=causal))
    expected = F.scaled_dot_product_attention(
        q, k, v, attn_mask=to_sdpa_mask(bias, mask, causal=causal)
    )
    torch.testing.assert_close(out, expected)
