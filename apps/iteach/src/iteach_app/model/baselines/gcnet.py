"""GCNet baseline: speaker and temporal graphs over the conversation, LSTMs, imputation + task.

Lian et al.'s Graph Completion Network as in its repository: the concatenated zero-filled
features pass a 2-layer bidirectional LSTM (``hidden`` per direction); two graph networks read it,
one with temporal relations (source utterance in the past / same / future of the target) and one
with speaker relations (target speaker, source speaker: ``n_speakers``^2 types), both over edges
within ``window_past`` / ``window_future`` utterances. Each graph network is a relational graph
convolution (per-relation mean plus a root weight) then a graph convolution (sum of neighbours
plus root), concatenated with its input, a 2-layer bidirectional LSTM, and (``time_attention``)
the repository's nodal attention over the conversation, then Linear + ReLU. The two outputs are
summed; a Linear classifies and a Linear reconstructs all input features (auxiliary loss: the
missing parts when ``complete`` is given, as in the original; else the present parts).

Plain torch, no torch_geometric: a conversation has at most ~110 utterances, so each relation is
a dense (B, L, L) mask built with broadcasting on the padded batch; the convolutions are batched
matmuls. That avoids flattening padded batches into edge lists (and its Python loop over edges
in the original), runs on any device, and adds no dependency.
Defaults: the README command (hidden 200, graph hidden 100 = hidden / 2, windows 2 and 2,
dropout 0.5, reconstruction loss on) with the nodal attention on (the repository's runs sweep
it both ways). The repository also builds an unused GRU (4.0M parameters at IEMOCAP widths),
which the paper's 34.14M counts and this module does not have.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from iteach_app.model.baselines._common import IncompleteBaseline, reconstruction_loss
from iteach_app.model.registry import register_model


class PackedBiLSTM(nn.Module):
    """2-layer bidirectional LSTM over (B, L, D) padded batches; padding never reaches real rows."""

    def __init__(self, in_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, num_layers=2, bidirectional=True, dropout=dropout,
                            batch_first=True)  # fmt: skip

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = self.lstm(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


class RelationalGraphConv(nn.Module):
    """R-GCN on dense relation masks: root(x_i) + sum_r mean_{j in N_r(i)} W_r x_j + bias."""

    def __init__(self, in_dim: int, out_dim: int, num_relations: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_relations, in_dim, out_dim))
        self.root = nn.Linear(in_dim, out_dim)
        nn.init.xavier_uniform_(self.weight.view(-1, out_dim))

    def forward(self, x: Tensor, relations: Tensor) -> Tensor:
        """x (B, L, D); relations (B, R, L, L) float, [b, r, i, j] = 1 if j sends to i by r."""
        norm = relations / relations.sum(-1, keepdim=True).clamp(min=1)
        messages = torch.einsum("bld,rde->brle", x, self.weight)
        return self.root(x) + torch.einsum("brij,brje->bie", norm, messages)


class GraphContext(nn.Module):
    """One of GCNet's two graph networks (temporal or speaker): (B, L, D) -> (B, L, D + G)."""

    def __init__(
        self, dim: int, graph_dim: int, num_relations: int, dropout: float, attention: bool
    ) -> None:
        super().__init__()
        self.rgcn = RelationalGraphConv(dim, graph_dim, num_relations)
        self.conv_neighbours = nn.Linear(graph_dim, graph_dim)
        self.conv_root = nn.Linear(graph_dim, graph_dim, bias=False)
        out = dim + graph_dim
        self.lstm = PackedBiLSTM(out, out, dropout)
        self.attention = nn.Linear(2 * out, 2 * out) if attention else None
        self.out = nn.Linear(2 * out, out)

    def forward(self, x: Tensor, relations: Tensor, utterance_mask: Tensor) -> Tensor:
        h = self.rgcn(x, relations)
        adjacency = relations.sum(1).clamp(max=1)
        h = self.conv_neighbours(adjacency @ h) + self.conv_root(h)
        h = self.lstm(torch.cat([x, h], dim=-1), utterance_mask.sum(-1))
        if self.attention is not None:
            scores = torch.tanh(self.attention(h) @ h.transpose(1, 2))
            scores = scores.masked_fill(~utterance_mask.unsqueeze(1), float("-inf"))
            h = torch.softmax(scores, dim=-1).nan_to_num(0.0) @ h
        return torch.relu(self.out(h))


@register_model("gcnet", label="GCNet", paper_parameters=34.14e6)
class GCNet(IncompleteBaseline):
    """Graph Completion Network; see the module docstring."""

    uses_speakers = True
    future_context = "bidirectional LSTMs and graph edges to later utterances"

    def __init__(
        self,
        modality_dims: Mapping[str, int],
        out_dim: int,
        *,
        hidden: int = 200,
        graph_hidden: int | None = None,
        window_past: int = 2,
        window_future: int = 2,
        n_speakers: int = 2,
        dropout: float = 0.5,
        time_attention: bool = True,
        recon_weight: float = 1.0,
    ) -> None:
        super().__init__(modality_dims, out_dim)
        if window_past < 0 or window_future < 0 or n_speakers < 1:
            raise ValueError(f"GCNet: windows must be >= 0 and n_speakers >= 1, got {window_past}, "
                             f"{window_future}, {n_speakers}")  # fmt: skip
        graph_hidden = hidden // 2 if graph_hidden is None else graph_hidden
        self.window_past, self.window_future, self.n_speakers = (
            window_past,
            window_future,
            n_speakers,
        )
        self.recon_weight = recon_weight
        total = sum(self.modality_dims.values())
        self.sequence = PackedBiLSTM(total, hidden, dropout)
        self.temporal = GraphContext(2 * hidden, graph_hidden, 3, dropout, time_attention)
        self.speaker = GraphContext(
            2 * hidden, graph_hidden, n_speakers**2, dropout, time_attention
        )
        self.classifier = nn.Linear(2 * hidden + graph_hidden, out_dim)
        self.reconstruct = nn.Linear(2 * hidden + graph_hidden, total)

    def relations(self, utterance_mask: Tensor, speakers: Tensor | None) -> tuple[Tensor, Tensor]:
        """Temporal (B, 3, L, L) and speaker (B, S^2, L, L) float masks of edges j -> i."""
        _b, length = utterance_mask.shape
        idx = torch.arange(length, device=utterance_mask.device)
        offset = idx.view(1, -1) - idx.view(-1, 1)  # [i, j] = j - i
        window = (offset >= -self.window_past) & (offset <= self.window_future)
        edges = window & utterance_mask.unsqueeze(1) & utterance_mask.unsqueeze(2)
        order = torch.stack([offset < 0, offset == 0, offset > 0])  # source past / now / future
        temporal = (edges.unsqueeze(1) & order).float()
        spk = torch.zeros_like(utterance_mask, dtype=torch.long) if speakers is None else speakers
        real_spk = spk[utterance_mask]
        if real_spk.numel() and (real_spk.min() < 0 or real_spk.max() >= self.n_speakers):
            raise ValueError(f"GCNet: speakers must be in 0..{self.n_speakers - 1} on real rows, "
                             f"got {real_spk.min().item()}..{real_spk.max().item()}")  # fmt: skip
        spk = spk.clamp(0, self.n_speakers - 1)
        pair = spk.unsqueeze(2) * self.n_speakers + spk.unsqueeze(
            1
        )  # target speaker, source speaker
        kinds = torch.arange(self.n_speakers**2, device=spk.device).view(1, -1, 1, 1)
        speaker = (edges.unsqueeze(1) & (pair.unsqueeze(1) == kinds)).float()
        return temporal.to(self.classifier.weight.dtype), speaker.to(self.classifier.weight.dtype)

    def _forward(self, features, utterance_mask, present, speakers, complete):
        lengths = utterance_mask.sum(-1)
        prefix = torch.arange(utterance_mask.shape[1], device=lengths.device) < lengths.unsqueeze(
            -1
        )
        if not torch.equal(prefix, utterance_mask):
            raise ValueError(
                "GCNet: utterance_mask must be True on a prefix of each row (padding last)"
            )
        x = torch.cat([features[m] for m in self.modalities], dim=-1)
        h = self.sequence(x, lengths)
        temporal, speaker = self.relations(utterance_mask, speakers)
        hidden = self.temporal(h, temporal, utterance_mask) + self.speaker(
            h, speaker, utterance_mask
        )
        parts = self.reconstruct(hidden).split(list(self.modality_dims.values()), dim=-1)
        recon = dict(zip(self.modalities, parts, strict=True))
        targets, weight = self._recon_targets(features, present, utterance_mask, complete)
        self._aux = self.recon_weight * reconstruction_loss(
            recon, targets, weight, utterance_mask.sum()
        )
        return self.classifier(hidden)
