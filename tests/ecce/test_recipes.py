"""The README recipes compute attention with the ECCE bias added to the logits, checked against a
plain per-query loop, and padded utterances never change a real row."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ecce import ECCE, BiasedTransformerEncoder, to_mha_mask, to_sdpa_mask

LENGTHS = torch.tensor([[9], [6]])


def _batch(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    mask = torch.arange(9) < LENGTHS
    x = torch.randn(2, 9, 16, generator=g, dtype=dtype)
    return x.masked_fill(~mask[..., None], 5.0), mask


def _garbage_on_padding(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask[..., None], x, 100 * torch.randn_like(x))


def attention_loop(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + bias) v over real keys, one query at a time: (B, H, L, d)."""
    out = torch.zeros_like(q)
    for b in range(q.shape[0]):
        keys = mask[b].nonzero().flatten()
        for h in range(q.shape[1]):
            for i in range(q.shape[2]):
                logits = k[b, h, keys] @ q[b, h, i] / math.sqrt(q.shape[-1]) + bias[b, h, i, keys]
                out[b, h, i] = torch.softmax(logits, 0) @ v[b, h, keys]
    return out


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    return t.view(*t.shape[:2], heads, -1).transpose(1, 2)


def _merge(t: torch.Tensor) -> torch.Tensor:
    return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], -1)


def _ecce(dtype: torch.dtype, heads: int = 4) -> ECCE:
    torch.manual_seed(1)
    return ECCE(16, num_heads=heads).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_multihead_attention_recipe_matches_the_loop(dtype: torch.dtype) -> None:
    x, mask = _batch(dtype)
    bias = _ecce(dtype)(x, mask)
    mha = nn.MultiheadAttention(16, 4, batch_first=True).to(dtype).eval()
    with torch.no_grad():
        out, _ = mha(x, x, x, attn_mask=to_mha_mask(bias, mask))
        q, k, v = (
            _heads(t, 4)
            for t in nn.functional.linear(x, mha.in_proj_weight, mha.in_proj_bias).chunk(3, -1)
        )
        expected = mha.out_proj(_merge(attention_loop(q, k, v, bias, mask)))
        garbage = _garbage_on_padding(x, mask)
        moved, _ = mha(garbage, garbage, garbage, attn_mask=to_mha_mask(bias, mask))
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-10}
    torch.testing.assert_close(out[mask], expected[mask], **tol)
    torch.testing.assert_close(moved[mask], out[mask], **tol)


def _encoder_layer(dtype: torch.dtype, batch_first: bool = True) -> nn.TransformerEncoderLayer:
    torch.manual_seed(2)
    return nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=batch_first).to(dtype)


def _layer_loop(layer: nn.TransformerEncoderLayer, x, bias, mask) -> torch.Tensor:
    """One post-norm encoder layer written out, with the attention of `attention_loop`."""
    attn = layer.self_attn
    q, k, v = (
        _heads(t, 4)
        for t in nn.functional.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, -1)
    )
    h = layer.norm1(x + attn.out_proj(_merge(attention_loop(q, k, v, bias, mask))))
    return layer.norm2(h + layer.linear2(layer.activation(layer.linear1(h))))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no_grad"])
def test_biased_encoder_layer_matches_the_loop_in_eval(dtype: torch.dtype, grad: bool) -> None:
    x, mask = _batch(dtype)
    layer = _encoder_layer(dtype).eval()
    bias = _ecce(dtype)(x, mask).detach()
    with torch.set_grad_enabled(grad):
        out = BiasedTransformerEncoder(layer)(x, bias, mask)
    assert torch.isfinite(out).all()
    with torch.no_grad():
        expected = _layer_loop(layer, x, bias, mask)
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-10}
    torch.testing.assert_close(out[mask].detach(), expected[mask], **tol)
    assert torch.backends.mha.get_fastpath_enabled()  # the flag is restored


def test_biased_encoder_in_eval_no_grad_equals_training_without_dropout() -> None:
    x, mask = _batch(torch.float32)
    ecce = _ecce(torch.float32)
    encoder = BiasedTransformerEncoder(
        nn.TransformerEncoder(_encoder_layer(torch.float32), 3, enable_nested_tensor=False)
    )
    trained = encoder(x, ecce(x, mask), mask)  # training mode, grad on: the slow path
    encoder.eval()
    ecce.eval()
    with torch.no_grad():
        inferred = encoder(x, ecce(x, mask), mask)
        moved = encoder(_garbage_on_padding(x, mask), ecce(x, mask), mask)
    assert torch.isfinite(inferred).all()
    torch.testing.assert_close(inferred, trained.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(moved[mask], inferred[mask], rtol=1e-5, atol=1e-5)


def test_biased_encoder_sequence_first_and_one_head_bias() -> None:
    x, mask = _batch(torch.float32)
    layer = _encoder_layer(torch.float32, batch_first=False).eval()
    bias = _ecce(torch.float32, heads=1)(x, mask).detach()
    with torch.no_grad():
        out = BiasedTransformerEncoder(layer)(x.transpose(0, 1), bias, mask).transpose(0, 1)
        expected = _layer_loop(layer, x, bias.expand(-1, 4, -1, -1), mask)
    torch.testing.assert_close(out[mask], expected[mask], rtol=1e-4, atol=1e-5)


def test_biased_encoder_refuses_other_modules() -> None:
    with pytest.raises(TypeError, match="not Linear"):
        BiasedTransformerEncoder(nn.Linear(4, 4))


def test_timm_attention_matches_the_loop() -> None:
    vit = pytest.importorskip("timm.models.vision_transformer", reason="the timm recipe needs timm")
    x, mask = _batch(torch.float32)
    bias = _ecce(torch.float32)(x, mask).detach()
    torch.manual_seed(3)
    attention = vit.Attention(16, num_heads=4, qkv_bias=True).eval()
    block = vit.Block(16, num_heads=4).eval()
    with torch.no_grad():
        out = attention(x, attn_mask=to_sdpa_mask(bias, mask))
        q, k, v = (_heads(t, 4) for t in attention.qkv(x).chunk(3, -1))
        expected = attention.proj(_merge(attention_loop(q, k, v, bias, mask)))
        moved = block(_garbage_on_padding(x, mask), attn_mask=to_sdpa_mask(bias, mask))
        kept = block(x, attn_mask=to_sdpa_mask(bias, mask))
    torch.testing.assert_close(out[mask], expected[mask], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(moved[mask], kept[mask], rtol=1e-4, atol=1e-5)


def test_hugging_face_bert_adds_the_bias_to_its_logits() -> None:
    transformers = pytest.importorskip("transformers", reason="the BERT recipe needs transformers")
    x, mask = _batch(torch.float32)
    bias = _ecce(torch.float32)(x, mask).detach()
    outputs = {}
    for implementation in ("sdpa", "eager"):
        config = transformers.BertConfig(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=4,
            intermediate_size=32,
            attn_implementation=implementation,
        )
        torch.manual_seed(4)
        bert = transformers.BertModel(config, add_pooling_layer=False).eval()
        with torch.no_grad():
            outputs[implementation] = bert(
                inputs_embeds=x, attention_mask=to_sdpa_mask(bias, mask)
            ).last_hidden_state
    with torch.no_grad():
        layer = bert.encoder.layer[0]
        h = bert.embeddings(inputs_embeds=x)
        self_attention = layer.attention.self
        q, k, v = (
            _heads(f(h), 4)
            for f in (self_attention.query, self_attention.key, self_attention.value)
        )
        context = _merge(attention_loop(q, k, v, bias, mask))
        attended = layer.attention.output.LayerNorm(layer.attention.output.dense(context) + h)
        expected = layer.output.LayerNorm(
            layer.output.dense(layer.intermediate(attended)) + attended
        )
    for implementation, out in outputs.items():
        torch.testing.assert_close(
            out[mask], expected[mask], rtol=1e-4, atol=1e-5, msg=implementation
        )
