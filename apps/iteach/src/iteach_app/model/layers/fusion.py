"""Cross-attention that fuses the other modalities, one after another, into the query modality."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from iteach_app.model.layers.chunked import QUERY_CHUNK
from iteach_app.model.layers.common import DropPath, LayerNorm
from iteach_app.model.layers.masking import masked_attention


class CrossAttention(nn.Module):
    """Queries (B,L,D) attend to a context (B,S,D); only `key_valid` (B,S) keys count.

    Attention runs at width `dim * attn_ratio` (split over `num_heads`) and is projected back
    to `dim`. A query with no valid key gets a zero update. `query_chunk`: query rows per
    attention block (exact, bounds the (B,H,L,S) logits; None: one dense call). `causal`
    (context as long as the queries, S = L): query i reads context utterances 0 .. i only.
    """

    query_chunk: int | None = QUERY_CHUNK

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        attn_ratio: float = 0.5,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.causal = causal
        inner = int(dim * attn_ratio)
        if inner % num_heads != 0:
            raise ValueError(
                f"cross-attention width dim*attn_ratio={inner} must be divisible by "
                f"num_heads={num_heads}"
            )
        self.num_heads = num_heads
        self.q = nn.Linear(dim, inner)
        self.kv = nn.Linear(dim, 2 * inner)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(inner, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(
        self, query: torch.Tensor, context: torch.Tensor, key_valid: torch.Tensor
    ) -> torch.Tensor:
        batch, length, _ = query.shape
        heads, width = self.num_heads, self.q.out_features // self.num_heads
        q = self.q(query).view(batch, length, heads, width).transpose(1, 2)  # (B, H, L, d)
        kv = self.kv(context).view(batch, context.shape[1], 2, heads, width)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, S, d)
        drop = self.attn_drop if self.training else 0.0
        out = masked_attention(
            q, k, v, key_valid, dropout_p=drop, query_chunk=self.query_chunk, causal=self.causal
        )
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(batch, length, -1)))


class CrossFusionBlock(nn.Module):
    """query + drop_path(tanh(gate) * cross_attn(norm_q(query), norm_kv(context), key_valid)).

    With `gated_fusion`, `gate` (dim,) starts at zero, so the block starts as the identity (the
    query modality alone) and lets the other modality in only as far as it lowers the loss, so
    that a useless or noisy modality cannot drown the query; without it the update is added as
    is. `causal`: each utterance reads the context's past.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        attn_ratio: float = 0.5,
        drop: float = 0.0,
        drop_path: float = 0.0,
        gated_fusion: bool = False,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.norm_q = LayerNorm(dim)
        self.norm_kv = LayerNorm(dim)
        self.attn = CrossAttention(
            dim, num_heads, attn_ratio=attn_ratio, proj_drop=drop, causal=causal
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.gate = nn.Parameter(torch.zeros(dim)) if gated_fusion else None

    def forward(
        self, query: torch.Tensor, context: torch.Tensor, key_valid: torch.Tensor
    ) -> torch.Tensor:
        update = self.attn(self.norm_q(query), self.norm_kv(context), key_valid)
        if self.gate is not None:
            update = torch.tanh(self.gate) * update
        return query + self.drop_path(update)


class CrossModalFusion(nn.Module):
    """Fuses each source modality in `sources` order (e.g. audio, then video) into the query.

    `forward(query (B,L,D), contexts {name: (B,L,D)}, key_valid {name: (B,L) bool}) -> (B,L,D)`.
    Its output is the layer's hidden state H (the module path hooked for distillation). With no
    source (a single-modality model) it returns the query unchanged. `gated_fusion`:
    zero-initialised tanh gates on every block (see CrossFusionBlock). `causal`: utterance i of
    the query reads utterances 0 .. i of each source, i.e. fusion inside each utterance's own
    past.
    """

    def __init__(
        self,
        dim: int,
        sources: Sequence[str],
        num_heads: int = 8,
        *,
        attn_ratio: float = 0.5,
        drop: float = 0.0,
        drop_path: float = 0.0,
        gated_fusion: bool = False,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.sources = tuple(sources)
        self.blocks = nn.ModuleDict(
            {
                name: CrossFusionBlock(
                    dim,
                    num_heads,
                    attn_ratio=attn_ratio,
                    drop=drop,
                    drop_path=drop_path,
                    gated_fusion=gated_fusion,
                    causal=causal,
                )
                for name in self.sources
            }
        )

    def forward(
        self,
        query: torch.Tensor,
        contexts: Mapping[str, torch.Tensor],
        key_valid: Mapping[str, torch.Tensor],
    ) -> torch.Tensor:
        for name in self.sources:
            query = self.blocks[name](query, contexts[name], key_valid[name])
        return query
