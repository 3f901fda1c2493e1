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

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

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
    """Steps a causal, eval-mode ITEACHNet: ``step(state, features, present) -> (out_dim,)``.

    ``features`` {modality: (D_m,)} in the model's dtype (an absent modality may hold anything:
    it is zero-filled, as offline); ``present`` {modality: bool}. Outputs equal
    ``model(prefix)[0, -1]`` to float rounding.
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

    @torch.no_grad()
    def step(
        self,
        state: ConversationState,
        features: Mapping[str, torch.Tensor],
        present: Mapping[str, bool],
    ) -> torch.Tensor:
        """Feed the next utterance; returns its logits (or value) (out_dim,)."""
        model = self.model
        states = {
            name: self._project(name, features[name], present[name]) for name in model.modalities
        }
        biases = {
            name: stream.step(states[name], full=True)[0] for name, stream in state.ecce.items()
        }
        for index, layer in enumerate(model.layers):
            out = {
                name: self._block(
                    state, index, name, layer.blocks[name], states[name], biases.get(name)
                )
                for name in model.modalities
            }
            query = model.modalities[0]
            for source in layer.fusion.sources:
                key = (index, source)
                block = layer.fusion.blocks[source]
                out[query] = self._fuse(state, key, block, out[query], out[source], present[source])
            states = out
        state.length += 1
        hidden = model.norm(states[model.modalities[0]])
        return model.head(hidden)[0]

    def _project(self, name: str, x: torch.Tensor, present: bool) -> torch.Tensor:
        """Standardised, projected input (1, D); zeros in where the modality is absent."""
        model = self.model
        observed = torch.tensor([present], device=x.device)
        h = model.standardizer.standardize(name, x[None], observed)
        h = model.input_proj[name](h)
        return model.input_norm[name](h) if name in model.input_norm else h

    def _block(
        self,
        state: ConversationState,
        layer: int,
        name: str,
        block: MetaFormerBlock,
        x: torch.Tensor,
        bias: torch.Tensor | None,
    ) -> torch.Tensor:
        """One MetaFormer block on the newest row x (1, D)."""
        y = block.norm1(x)
        key = (layer, name)
        tail = state.tails.get(key)
        if tail is None:
            tail = y.new_zeros(self.kernel, y.shape[-1])
        tail = torch.cat([tail[1:], y], 0)
        state.tails[key] = tail
        mixer = block.mixer
        if isinstance(mixer, NASMixer):
            weights = mixer.router(y)
            outputs = [self._mix(state, key, m, y, tail, bias) for m in mixer.candidates]
            mixed = (torch.stack(outputs, -1) @ weights[..., None]).squeeze(-1)
        else:
            mixed = self._mix(state, key, mixer, y, tail, bias)
        x = x + mixed
        return x + block.mlp(block.norm2(x))

    def _mix(
        self,
        state: ConversationState,
        key: tuple[int, str],
        mixer: nn.Module,
        y: torch.Tensor,
        tail: torch.Tensor,
        bias: torch.Tensor | None,
    ) -> torch.Tensor:
        """One token mixer's output for the newest row (1, D)."""
        if isinstance(mixer, AttentionMixer):
            return self._attend(state, key, mixer, y, bias)
        k = mixer.kernel_size
        seen = min(state.length + 1, k)  # the pools leave out positions before the first
        if isinstance(mixer, AvgPoolMixer):
            return tail[-seen:].mean(0, keepdim=True)
        if isinstance(mixer, MaxPoolMixer):
            return tail[-seen:].max(0, keepdim=True).values
        window = tail[-k:].reshape(1, -1)  # (1, k * D), zeros before the first utterance
        hidden = F.linear(window, self.flat_windows[id(mixer)], mixer.window.bias)
        return mixer.fc(mixer.act(hidden))

    def _attend(
        self,
        state: ConversationState,
        key: tuple[int, str],
        mixer: AttentionMixer,
        y: torch.Tensor,
        bias: torch.Tensor | None,
    ) -> torch.Tensor:
        """Self-attention of the newest query over every cached utterance (and itself)."""
        heads, width = mixer.num_heads, mixer.head_dim
        q, k, v = mixer.qkv(y).view(3, heads, width).unbind(0)
        if key not in state.keys:
            state.keys[key] = RowBuffer((heads, width), y.dtype, y.device)
            state.values[key] = RowBuffer((heads, width), y.dtype, y.device)
        state.keys[key].append(k)
        state.values[key].append(v)
        keys = state.keys[key].view().transpose(0, 1)  # (H, n, d)
        logits = torch.matmul(keys, q[..., None] * width**-0.5)[..., 0]  # (H, n)
        if bias is not None:
            logits = logits + bias.to(logits.dtype)
        values = state.values[key].view().transpose(0, 1)
        out = torch.matmul(logits.softmax(-1)[:, None], values)  # (H, 1, d)
        return mixer.proj(out.reshape(1, heads * width))

    def _fuse(
        self,
        state: ConversationState,
        key: tuple[int, str],
        block: CrossFusionBlock,
        query: torch.Tensor,
        context: torch.Tensor,
        present: bool,
    ) -> torch.Tensor:
        """One cross-fusion block: the newest query over the source's present past."""
        attn = block.attn
        heads = attn.num_heads
        width = attn.q.out_features // heads
        if present:
            if key not in state.cross:
                state.cross[key] = RowBuffer((2, heads, width), query.dtype, query.device)
            state.cross[key].append(attn.kv(block.norm_kv(context)).view(2, heads, width))
        cache = state.cross.get(key)
        if cache is None or cache.length == 0:
            out = query.new_zeros(heads, width)  # no valid key: zero attention output
        else:
            kv = cache.view()
            q = attn.q(block.norm_q(query)).view(heads, width, 1) * width**-0.5
            logits = torch.matmul(kv[:, 0].transpose(0, 1), q)[..., 0]  # (H, n)
            out = torch.matmul(logits.softmax(-1)[:, None], kv[:, 1].transpose(0, 1))
        update = attn.proj(out.reshape(1, heads * width))
        if block.gate is not None:
            update = torch.tanh(block.gate) * update
        return query + update
