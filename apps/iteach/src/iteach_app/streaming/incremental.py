"""A causal ITEACHNet one utterance at a time: per-conversation state, one step per utterance.

The step repeats `ITEACHNet.forward` for the newest row only, reusing the model's own modules
(projections, norms, router, MLPs, gates), so it computes the same function as the causal model
on the whole prefix, read at its last utterance:

- input: standardise (zeros where the modality is absent), project;
- ECCE: `ecce.ECCEStream` per modality gives the new utterance's bias row (local-conv tail and
  span sums of the last ``max_distance`` utterances; every older key gets proj(0));
- each block: self-attention of the new query over cached keys and values (the keys of every
  utterance so far, present or not, as offline); average / max pooling and the utterance MLP
  over a tail of the last k normalised inputs (zeros before the first utterance for the MLP,
  nothing for the pools, as the offline windows); the router's mixture; the block MLP;
- fusion: the new query attends to the cached keys and values of each source's utterances that
  were present (a source absent so far gives attention output 0, i.e. the update proj(0), as
  offline);
- head: norm, linear.

A step costs O(one utterance) for everything but attention, which reads the n cached keys (a
few thousand flops per key): per-utterance time stays flat in practice while the cache grows
linearly (``ConversationState.nbytes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from ecce import ECCEStream
from iteach_app.model.iteach import ITEACHNet
from iteach_app.model.layers import (
    AttentionMixer,
    AvgPoolMixer,
    CrossFusionBlock,
    MaxPoolMixer,
    MetaFormerBlock,
    NASMixer,
    UtteranceMlpMixer,
)
from iteach_app.streaming.buffers import RowBuffer

WINDOW_MIXERS = (AvgPoolMixer, MaxPoolMixer, UtteranceMlpMixer)
STEP_MIXERS = (AttentionMixer, *WINDOW_MIXERS)


@dataclass
class ConversationState:
    """What one conversation carries between steps.

    ``keys`` / ``values`` [(layer, modality)]: self-attention cache (n, H, D/H);
    ``cross`` [(layer, source)]: fusion keys and values of the present utterances (n, 2, H, w);
    ``tails`` [(layer, modality)]: the last k normalised block inputs (k, D), zeros at first;
    ``ecce`` [modality]: ECCE's incremental state.
    """

    length: int = 0
    keys: dict[tuple[int, str], RowBuffer] = field(default_factory=dict)
    values: dict[tuple[int, str], RowBuffer] = field(default_factory=dict)
    cross: dict[tuple[int, str], RowBuffer] = field(default_factory=dict)
    tails: dict[tuple[int, str], torch.Tensor] = field(default_factory=dict)
    ecce: dict[str, ECCEStream] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        """Bytes held by the caches and tails (ECCE's fixed-size state not counted)."""
        buffers = [*self.keys.values(), *self.values.values(), *self.cross.values()]
        tails = sum(t.numel() * t.element_size() for t in self.tails.values())
        return sum(b.nbytes for b in buffers) + tails


def unsupported_reason(model: nn.Module) -> str | None:
    """Why ``model`` cannot be stepped one utterance at a time, or None when it can."""
    if not isinstance(model, ITEACHNet):
        return f"{type(model).__name__} is not an ITEACH-Net"
    if not model.causal:
        return "the model is not causal (trained without --causal: it reads later utterances)"
    for module in model.modules():
        if isinstance(module, MetaFormerBlock):
            mixers = (
                module.mixer.candidates if isinstance(module.mixer, NASMixer) else [module.mixer]
            )
            odd = [type(m).__name__ for m in mixers if type(m) not in STEP_MIXERS]
            if odd:
                return f"token mixer {odd[0]} has no incremental form"
    return None


class IncrementalITEACH:
    """Steps a causal, eval-mode ITEACHNet one utterance per conversation.

    ``step(state, features, present) -> (out_dim,)`` for one conversation; ``step_many(states,
    features, present) -> (B, out_dim)`` for B different conversations at once (each at its own
    position): the per-utterance layers run as one batch, attention over each conversation's
    cache is padded to the longest (so a batch mixing very long and short conversations pays
    for the longest). ``features`` {modality: (D_m,) or (B, D_m)} in the model's dtype (an
    absent modality may hold anything: it is zero-filled, as offline); ``present``
    {modality: bool} or (B, M) bool in the order of ``model.modalities``. Outputs equal
    ``model(prefix)[:, -1]`` to float rounding.
    """

    def __init__(self, model: ITEACHNet) -> None:
        reason = unsupported_reason(model)
        if reason is not None:
            raise ValueError(f"cannot stream this model incrementally: {reason}")
        self.model = model
        self.kernel = max(
            [m.kernel_size for m in model.modules() if isinstance(m, WINDOW_MIXERS)], default=1
        )
        # Each utterance MLP's window convolution as one linear map of the k stacked inputs
        # (hidden, k * D), oldest first: one matmul per step instead of a convolution.
        self.flat_windows = {
            id(m): m.window.weight.permute(0, 2, 1).reshape(m.window.out_channels, -1)
            for m in model.modules()
            if isinstance(m, UtteranceMlpMixer)
        }

    def new_state(self) -> ConversationState:
        """An empty conversation."""
        return ConversationState(
            ecce={name: ecce.stream() for name, ecce in self.model.ecce.items()}
        )

    def step(
        self,
        state: ConversationState,
        features: Mapping[str, torch.Tensor],
        present: Mapping[str, bool],
    ) -> torch.Tensor:
        """Feed the next utterance of one conversation; returns its logits (or value) (out_dim,)."""
        modalities = self.model.modalities
        flags = torch.tensor([[bool(present[m]) for m in modalities]])
        rows = {m: features[m][None] for m in modalities}
        return self.step_many([state], rows, flags)[0]

    @torch.no_grad()
    def step_many(
        self,
        states: Sequence[ConversationState],
        features: Mapping[str, torch.Tensor],
        present: torch.Tensor,
    ) -> torch.Tensor:
        """Feed the next utterance of each of B distinct conversations; returns (B, out_dim)."""
        model = self.model
        present = present.to(features[model.modalities[0]].device)
        x = {
            name: self._project(name, features[name], present[:, k])
            for k, name in enumerate(model.modalities)
        }
        keys = _padding_mask([s.length + 1 for s in states], x[model.modalities[0]])
        biases = {name: self._bias_rows(states, name, x[name], keys) for name in model.ecce}
        for name in model.modalities:
            biases.setdefault(name, keys)
        sources = model.layers[0].fusion.sources
        cross = {
            name: self._cross_counts(states, name, present[:, model.modalities.index(name)])
            for name in sources
        }
        query = model.modalities[0]
        for index, layer in enumerate(model.layers):
            out = {
                name: self._block(states, index, name, layer.blocks[name], x[name], biases[name])
                for name in model.modalities
            }
            for source in sources:
                block = layer.fusion.blocks[source]
                key = (index, source)
                out[query] = self._fuse(states, key, block, out[query], out[source], cross[source])
            x = out
        for state in states:
            state.length += 1
        return model.head(model.norm(x[query]))

    def _project(self, name: str, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Standardised, projected inputs (B, D); zeros in where the modality is absent."""
        model = self.model
        h = model.input_proj[name](model.standardizer.standardize(name, x, observed))
        return model.input_norm[name](h) if name in model.input_norm else h

    @staticmethod
    def _bias_rows(
        states: Sequence[ConversationState], name: str, x: torch.Tensor, keys: torch.Tensor
    ) -> torch.Tensor:
        """Each conversation's ECCE bias row of its newest utterance, (B, H, n_max), -inf where
        a shorter conversation has no key."""
        rows = [s.ecce[name].step(x[b : b + 1], full=True)[0] for b, s in enumerate(states)]
        if len(rows) == 1:
            return rows[0][None]
        padded = pad_sequence([r.transpose(0, 1) for r in rows], batch_first=True)
        return padded.transpose(1, 2) + keys

    def _cross_counts(
        self, states: Sequence[ConversationState], source: str, present: torch.Tensor
    ) -> list[int]:
        """Each conversation's number of utterances with ``source`` present, this one included."""
        cache = (0, source)
        return [
            (s.cross[cache].length if cache in s.cross else 0) + int(p)
            for s, p in zip(states, present.tolist(), strict=True)
        ]

    def _block(
        self,
        states: Sequence[ConversationState],
        layer: int,
        name: str,
        block: MetaFormerBlock,
        x: torch.Tensor,
        bias: torch.Tensor,
    ) -> torch.Tensor:
        """One MetaFormer block on the newest rows x (B, D)."""
        y = block.norm1(x)
        key = (layer, name)
        empty = y.new_zeros(self.kernel, y.shape[-1])
        tails = torch.stack([s.tails.get(key, empty) for s in states])
        tails = torch.cat([tails[:, 1:], y[:, None]], 1)  # (B, k, D), oldest first
        for state, tail in zip(states, tails.unbind(0), strict=True):
            state.tails[key] = tail.clone()  # a view would keep the whole batch alive
        mixer = block.mixer
        if isinstance(mixer, NASMixer):
            weights = mixer.router(y)
            outputs = [self._mix(states, key, m, y, tails, bias) for m in mixer.candidates]
            mixed = (torch.stack(outputs, -1) @ weights[..., None]).squeeze(-1)
        else:
            mixed = self._mix(states, key, mixer, y, tails, bias)
        x = x + mixed
        return x + block.mlp(block.norm2(x))

    def _mix(
        self,
        states: Sequence[ConversationState],
        key: tuple[int, str],
        mixer: nn.Module,
        y: torch.Tensor,
        tails: torch.Tensor,
        bias: torch.Tensor,
    ) -> torch.Tensor:
        """One token mixer's output for the newest rows (B, D)."""
        if isinstance(mixer, AttentionMixer):
            return self._attend(states, key, mixer, y, bias)
        k = mixer.kernel_size
        window = tails[:, -k:]
        if isinstance(mixer, UtteranceMlpMixer):  # zeros before the first utterance
            hidden = F.linear(window.reshape(len(states), -1), self.flat_windows[id(mixer)])
            return mixer.fc(mixer.act(hidden + mixer.window.bias))
        # the pools leave out positions before the first utterance: the last min(t + 1, k) rows
        seen = torch.tensor([min(s.length + 1, k) for s in states], device=y.device)
        valid = (torch.arange(k, device=y.device) >= k - seen[:, None])[..., None]
        if isinstance(mixer, AvgPoolMixer):
            return (window * valid).sum(1) / seen[:, None].to(y.dtype)
        return window.masked_fill(~valid, float("-inf")).max(1).values

    @staticmethod
    def _attend(
        states: Sequence[ConversationState],
        key: tuple[int, str],
        mixer: AttentionMixer,
        y: torch.Tensor,
        bias: torch.Tensor,
    ) -> torch.Tensor:
        """Self-attention of each newest query over its conversation's cache (and itself)."""
        heads, width = mixer.num_heads, mixer.head_dim
        q, k, v = mixer.qkv(y).view(len(states), 3, heads, width).unbind(1)
        for b, state in enumerate(states):
            if key not in state.keys:
                state.keys[key] = RowBuffer((heads, width), y.dtype, y.device)
                state.values[key] = RowBuffer((heads, width), y.dtype, y.device)
            state.keys[key].append(k[b])
            state.values[key].append(v[b])
        cached_k = _gather([s.keys[key] for s in states])  # (B, n, H, d)
        cached_v = _gather([s.values[key] for s in states])
        scaled = (q * width**-0.5)[..., None]  # (B, H, d, 1)
        logits = torch.matmul(cached_k.permute(0, 2, 1, 3), scaled)[..., 0] + bias  # (B, H, n)
        out = torch.matmul(logits.softmax(-1)[:, :, None], cached_v.permute(0, 2, 1, 3))
        return mixer.proj(out.reshape(len(states), heads * width))

    @staticmethod
    def _fuse(
        states: Sequence[ConversationState],
        key: tuple[int, str],
        block: CrossFusionBlock,
        query: torch.Tensor,
        context: torch.Tensor,
        counts: list[int],
    ) -> torch.Tensor:
        """One cross-fusion block: each newest query over its source's present past (``counts``:
        present utterances per conversation, this one included)."""
        attn = block.attn
        heads = attn.num_heads
        width = attn.q.out_features // heads
        batch = len(states)
        kv = attn.kv(block.norm_kv(context)).view(batch, 2, heads, width)
        for b, state in enumerate(states):
            if counts[b] > (state.cross[key].length if key in state.cross else 0):
                if key not in state.cross:  # this utterance is the source's first present one
                    state.cross[key] = RowBuffer((2, heads, width), query.dtype, query.device)
                state.cross[key].append(kv[b])
        if max(counts) == 0:
            out = query.new_zeros(batch, heads * width)  # no valid key: attention output 0
        else:
            cached = _gather([s.cross.get(key) for s in states])  # (B, n, 2, H, w)
            q = attn.q(block.norm_q(query)).view(batch, heads, width, 1) * width**-0.5
            logits = torch.matmul(cached[:, :, 0].permute(0, 2, 1, 3), q)[..., 0]  # (B, H, n)
            if batch > 1:  # a conversation without keys keeps a finite row, zeroed below
                logits = logits + _padding_mask([max(c, 1) for c in counts], logits)
            weights = logits.softmax(-1)[:, :, None]
            out = torch.matmul(weights, cached[:, :, 1].permute(0, 2, 1, 3))[:, :, 0]
            has_key = torch.tensor(counts, device=out.device) > 0
            out = (out * has_key[:, None, None].to(out.dtype)).reshape(batch, heads * width)
        update = attn.proj(out)
        if block.gate is not None:
            update = torch.tanh(block.gate) * update
        return query + update


def _padding_mask(lengths: Sequence[int], like: torch.Tensor) -> torch.Tensor:
    """(B, 1, max(lengths)) additive mask in ``like``'s dtype: 0 on the first lengths[b] keys,
    -inf after (where a shorter conversation's padded cache has no key)."""
    longest = max(lengths, default=0)
    index = torch.arange(longest, device=like.device)
    limit = torch.tensor(list(lengths), device=like.device)[:, None, None]
    mask = like.new_zeros(len(lengths), 1, longest)
    return mask.masked_fill(index >= limit, float("-inf"))


def _gather(buffers: Sequence[RowBuffer | None]) -> torch.Tensor:
    """Rows of each buffer (None: no rows) as one (B, n, ...) tensor, zero-padded to the
    longest; a single conversation's cache is used in place, without a copy."""
    if len(buffers) == 1 and buffers[0] is not None:
        return buffers[0].view()[None]
    template = next(b for b in buffers if b is not None)
    empty = template.data.new_zeros(0, *template.row_shape)
    return pad_sequence([empty if b is None else b.view() for b in buffers], batch_first=True)
