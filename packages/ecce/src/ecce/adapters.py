"""Adapters that hand an ECCE bias (B, H, L, L) to the attention implementations of PyTorch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from ecce._checks import check_bias, check_mask


def to_sdpa_mask(
    bias: torch.Tensor, utterance_mask: torch.Tensor | None = None, *, causal: bool = False
) -> torch.Tensor:
    """Float ``attn_mask`` (B, H, L, L) for ``F.scaled_dot_product_attention``.

    The bias, with -inf on padded keys (and on future keys when ``causal``). A row that would be
    left with no key at all (a padded query of an empty conversation) keeps every key, so the
    softmax never sees an all -inf row.
    """
    check_bias(bias)
    batch, _, length, _ = bias.shape
    if utterance_mask is None and not causal:
        return bias
    keys = check_mask(utterance_mask, batch, length, bias.device)
    if not causal and bool(keys.all()):
        return bias
    allowed = keys[:, None, None, :]
    if causal:
        allowed = allowed & torch.ones(length, length, dtype=torch.bool, device=bias.device).tril()
    allowed = allowed | ~allowed.any(-1, keepdim=True)
    return bias.masked_fill(~allowed, float("-inf"))


def to_mha_mask(
    bias: torch.Tensor,
    utterance_mask: torch.Tensor | None = None,
    *,
    causal: bool = False,
    num_heads: int | None = None,
) -> torch.Tensor:
    """Float ``attn_mask`` (B * H, L, L) for ``nn.MultiheadAttention`` / ``nn.TransformerEncoder``.

    Padding (and causality) is folded in as in ``to_sdpa_mask``; do not pass a key padding mask as
    well. Row b * H + h is head h of conversation b, the layout those modules expect. A one-head
    bias is repeated to ``num_heads`` heads when given. Wrap ``nn.TransformerEncoder(Layer)`` in
    ``BiasedTransformerEncoder`` (or run it inside ``mha_fastpath_disabled()``): its fused
    inference path reads float masks as boolean.
    """
    mask = to_sdpa_mask(bias, utterance_mask, causal=causal)
    if num_heads is not None and mask.shape[1] != num_heads:
        if mask.shape[1] != 1:
            raise ValueError(
                f"bias has {mask.shape[1]} heads, cannot repeat it to num_heads={num_heads}"
            )
        mask = mask.expand(-1, num_heads, -1, -1)
    batch, heads, length, _ = mask.shape
    return mask.reshape(batch * heads, length, length)


ScoreMod = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor
]


def as_score_mod(
    bias: torch.Tensor, utterance_mask: torch.Tensor | None = None, *, causal: bool = False
) -> ScoreMod:
    """A FlexAttention ``score_mod(score, b, h, q_idx, kv_idx)`` that adds the bias.

    Padding (and causality) is folded in as in ``to_sdpa_mask``. A bias with one head (H = 1) is
    shared by every head.
    """
    mask = to_sdpa_mask(bias, utterance_mask, causal=causal)
    shared = mask.shape[1] == 1

    def score_mod(
        score: torch.Tensor,
        b: torch.Tensor,
        h: torch.Tensor,
        q_idx: torch.Tensor,
        kv_idx: torch.Tensor,
    ) -> torch.Tensor:
        return score + mask[b, 0 if shared else h, q_idx, kv_idx]

    return score_mod


@contextmanager
def mha_fastpath_disabled() -> Iterator[None]:
    """Turn off the fused inference path of ``nn.TransformerEncoderLayer`` inside the block.

    That path (eval mode without grad) treats any non-zero float mask entry as "masked", so an
    additive bias gives NaN or wrong output (pytorch/pytorch#118628). The flag is restored on exit.
    """
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)
