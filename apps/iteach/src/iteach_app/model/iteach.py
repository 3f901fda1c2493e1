"""ITEACH-Net: per-modality projection and ECCE bias, encoder layers, classifier on fused text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import get_args

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ecce import ECCE, to_sdpa_mask
from iteach_app.config.schema import EcceInput, EcceKind
from iteach_app.model.buckets import (
    DEFAULT_COST,
    Bucket,
    BucketCost,
    Scatter,
    split_batch,
    take_inputs,
)
from iteach_app.model.inputs import check_inputs
from iteach_app.model.layers import AttentionMixer, EncoderLayer, NASMixer, Router
from iteach_app.model.layers.chunked import QUERY_CHUNK
from iteach_app.model.layers.common import LayerNorm
from iteach_app.model.layers.dropout import use_fast_dropout
from iteach_app.model.layers.fusion import CrossAttention
from iteach_app.model.layers.packing import pack, real_rows, unpack
from iteach_app.model.layers.standardize import FeatureStandardizer
from iteach_app.model.protocol import ModelContract
from iteach_app.model.registry import register_model

MIXERS: dict[str, type[nn.Module]] = {"attention": AttentionMixer, "nas": NASMixer}
ECCE_KINDS: tuple[str, ...] = get_args(EcceKind)
ECCE_INPUTS: tuple[str, ...] = get_args(EcceInput)


class ITEACHNet(ModelContract):
    """The ITEACH-Net encoder and classifier.

    `forward(features {name: (B,L,D_m)}, utterance_mask (B,L), present (B,L,M) | None)
    -> logits (B,L,out_dim)`. `modalities` puts `query_modality` first (or, when it is not among
    `modality_dims`, the first modality given); `present`'s last dim follows that order. Inputs
    where `present` is False are zero-filled inside the model (whatever they held), and are
    masked as keys of the cross-modal fusion. Extra keys in `features` are ignored.

    `mixer`: a token-mixer class or its name, "attention" (self-attention guided by ECCE) or "nas"
    (a per-utterance Router over attention, MLP over utterances, average and max pooling); the
    name is kept as `mixer_kind`. `ecce`: "full" (local conv
    of width `ecce_dim` over `window` utterances, then the global span mean), "global" (local
    = identity) or "none" (no bias). Each modality's ECCE bias is computed once per forward on
    its projected input and shared by every layer; `ecce_input="features"` computes it from the
    (standardised) input features instead, as the paper's Eqs. 1-4 do; `ecce_per_layer` gives
    every encoder layer its own ECCE, computed on that layer's input.

    Robust fusion, so that a modality at another scale or of pure noise cannot drown the
    others: `standardizer` (a FeatureStandardizer, identity until the trainer
    loads the training split's statistics) standardises every modality at the input;
    `gated_fusion` (default on) scales each cross-attention update by tanh of a zero-initialised
    per-channel gate, so the model starts as the query modality alone and lets another modality
    in only where it lowers the loss; `input_norm` adds a LayerNorm after each input projection
    (off: it measured worse on validation, see the README).

    Memory on long conversations, where dense (B,H,L,L) tensors grow with the square of L;
    neither option changes the numbers: `query_chunk`
    (default 256) runs self- and cross-attention in blocks of that many query rows, and
    without autograd (evaluate, predict) computes each ECCE bias just before its block uses it
    and frees it after, so one dense (B,H,L,L) bias lives at a time; None: the dense path.
    `activation_checkpointing` (training) keeps only each encoder layer's inputs and
    recomputes the layer in the backward pass: memory of one layer instead of all, for time.

    `causal` (an online model): utterance i depends on utterances 0 .. i only. ECCE spans end at
    the current utterance (past-only local window, E[i, j > i] = proj(0)), self-attention masks
    later keys, the pooling and utterance-MLP windows cover i-k+1 .. i, and the fusion reads each
    source's utterances 0 .. i. So the outputs on a prefix equal those of the whole conversation
    over that prefix, and `iteach_app.streaming` can compute them one utterance at a time.

    Throughput (padding is 43% of a batch's rows on IEMOCAP at batch 32, and CPU dropout masks
    took a quarter of a step): the input projections and every block's MLP run on the real
    utterances only (padded rows of the hidden states are zeros or residuals, never read), and
    each `nn.Dropout` is a `FastDropout` (a cheaper CPU mask, same keep probability).

    Length buckets (`bucket_forward`, default on; model/buckets.py): a batch's conversations
    run in a few groups by length, each padded only to its own longest (the split minimises
    `bucket_cost`), and the outputs are put back in place; real rows equal the padded forward's
    to rounding; where a batch ran in buckets, padded rows of the logits and hidden states are
    zero. The fused query state of every layer goes through `taps[i]` (an identity) once per
    forward on the whole batch, so a forward hook there (`hidden_layer_paths`, its_distill)
    sees (B,L,D) whatever the buckets.
    """

    exposes_hidden_states = True  # the fused query states, through `hidden_layer_paths`

    def __init__(
        self,
        modality_dims: Mapping[str, int],
        out_dim: int,
        *,
        num_layers: int = 3,
        mixer: str | type[nn.Module] = "attention",
        hidden_dim: int = 128,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        window: int = 7,
        max_distance: int = 30,
        ecce: str = "full",
        ecce_dim: int = 32,
        cross_attn_ratio: float = 0.5,
        dropout: float = 0.1,
        drop_path: float = 0.0,
        query_modality: str = "text",
        gated_fusion: bool = True,
        input_norm: bool = False,
        query_chunk: int | None = QUERY_CHUNK,
        activation_checkpointing: bool = False,
        ecce_input: str = "projected",
        ecce_per_layer: bool = False,
        bucket_forward: bool = True,
        bucket_cost: BucketCost = DEFAULT_COST,
        causal: bool = False,
    ) -> None:
        super().__init__()
        if not modality_dims:
            raise ValueError("modality_dims must name at least one modality")
        for name, dim in modality_dims.items():
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
                raise ValueError(f"modality_dims[{name!r}] must be an integer >= 1, got {dim!r}")
        if isinstance(mixer, str) and mixer not in MIXERS:
            raise ValueError(f"mixer must be one of {tuple(MIXERS)} or a class, got {mixer!r}")
        if ecce not in ECCE_KINDS:
            raise ValueError(f"ecce must be one of {ECCE_KINDS}, got {ecce!r}")
        if ecce_input not in ECCE_INPUTS:
            raise ValueError(f"ecce_input must be one of {ECCE_INPUTS}, got {ecce_input!r}")
        if causal and (ecce_per_layer or ecce_input == "features"):
            raise ValueError(
                "causal (streaming) runs keep one ECCE stream per modality on the projected "
                "input: use ecce_input='projected' without ecce_per_layer"
            )
        if ecce_per_layer and ecce_input == "features":
            raise ValueError(
                "ecce_per_layer reads each layer's input state, so ecce_input must be "
                "'projected' with it"
            )
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if out_dim < 1:
            raise ValueError(f"out_dim must be >= 1, got {out_dim}")
        query = query_modality if query_modality in modality_dims else next(iter(modality_dims))
        self.modalities: tuple[str, ...] = (query, *(m for m in modality_dims if m != query))
        self.modality_dims = {name: int(modality_dims[name]) for name in self.modalities}
        self.hidden_dim = hidden_dim
        mixer_cls = MIXERS[mixer] if isinstance(mixer, str) else mixer
        self.mixer_kind = mixer if isinstance(mixer, str) else mixer.__name__
        self.ecce_mode = ecce
        self.causal = causal

        self.standardizer = FeatureStandardizer(self.modality_dims)
        self.input_proj = nn.ModuleDict(
            {name: nn.Linear(dim, hidden_dim) for name, dim in self.modality_dims.items()}
        )
        self.input_norm = nn.ModuleDict(
            {name: LayerNorm(hidden_dim) for name in self.modality_dims} if input_norm else {}
        )
        self.input_drop = nn.Dropout(dropout)
        self.ecce_input = ecce_input
        self.ecce_per_layer = ecce_per_layer
        ecce_names = self.modalities if ecce != "none" else ()
        ecce_dims = self.modality_dims if ecce_input == "features" else dict.fromkeys(
            self.modalities, hidden_dim
        )  # fmt: skip

        def ecce_dict() -> nn.ModuleDict:
            return nn.ModuleDict(
                {
                    name: self._build_ecce(
                        ecce, ecce_dims[name], num_heads, window, max_distance, ecce_dim, causal
                    )
                    for name in ecce_names
                }
            )

        self.ecce = nn.ModuleDict() if ecce_per_layer else ecce_dict()
        self.layer_ecce = nn.ModuleList(
            [ecce_dict() for _ in range(num_layers)] if ecce_per_layer else []
        )
        rates = torch.linspace(0, drop_path, num_layers).tolist()
        self.layers = nn.ModuleList(
            EncoderLayer(
                self.modalities,
                hidden_dim,
                mixer_cls,
                num_heads=num_heads,
                mlp_ratio=mlp_ratio,
                cross_attn_ratio=cross_attn_ratio,
                drop=dropout,
                drop_path=rate,
                gated_fusion=gated_fusion,
                causal=causal,
            )
            for rate in rates
        )
        self.taps = nn.ModuleList(HiddenTap(hidden_dim) for _ in rates)
        self.bucket_forward = bucket_forward
        self.bucket_cost = bucket_cost
        self.norm = LayerNorm(hidden_dim)
        self.head_drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, out_dim)
        self.activation_checkpointing = activation_checkpointing
        self.set_query_chunk(query_chunk)
        use_fast_dropout(self)
        # The built-in mixers read the bias only as attention logits, so the layers get it with
        # padded keys at -inf, folded once per forward instead of once per attention call.
        self.keys_in_bias = isinstance(mixer, str)
        for module in self.modules():
            if isinstance(module, AttentionMixer):
                module.keys_in_bias = self.keys_in_bias

    def set_query_chunk(self, query_chunk: int | None) -> None:
        """Query rows per attention block in every self- and cross-attention (None: dense)."""
        if query_chunk is not None and (isinstance(query_chunk, bool) or query_chunk < 1):
            raise ValueError(f"query_chunk must be an integer >= 1 or None, got {query_chunk!r}")
        self.query_chunk = query_chunk
        for module in self.modules():
            if isinstance(module, (AttentionMixer, CrossAttention)):
                module.query_chunk = query_chunk

    @staticmethod
    def _build_ecce(
        mode: str,
        dim: int,
        heads: int,
        window: int,
        max_distance: int,
        ecce_dim: int,
        causal: bool = False,
    ) -> ECCE:
        """One modality's ECCE: "global" skips F_local (identity), "full" convolves to ecce_dim."""
        shared = {"window": window, "max_distance": max_distance, "causal": causal}
        if mode == "global":
            return ECCE(dim, heads, local=nn.Identity(), **shared)
        return ECCE(dim, heads, hidden_dim=ecce_dim, **shared)

    def _project(
        self,
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        present: torch.Tensor | None,
        standardized: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Projected input states {name: (B,L,hidden)}; ``standardized``, where given, receives
        the standardised (absent: zero) input features {name: (B,L,D_m)}."""
        check_inputs(features, utterance_mask, present, self.modality_dims, self.modalities)
        rows = real_rows(utterance_mask)
        observed = None if present is None else pack(present, rows)
        states = {}
        for index, name in enumerate(self.modalities):
            x = self.standardizer.standardize(
                name, pack(features[name], rows), None if observed is None else observed[..., index]
            )
            if standardized is not None:
                standardized[name] = unpack(x, rows, *utterance_mask.shape)
            x = self.input_proj[name](x)
            if name in self.input_norm:
                x = self.input_norm[name](x)
            states[name] = unpack(self.input_drop(x), rows, *utterance_mask.shape)
        return states

    def _biases(
        self, states: Mapping[str, torch.Tensor], utterance_mask: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {name: ecce(states[name], utterance_mask) for name, ecce in self.ecce.items()}

    def _layer_biases(
        self, states: Mapping[str, torch.Tensor], utterance_mask: torch.Tensor
    ) -> Mapping[str, torch.Tensor]:
        """The biases the layers read: computed once (autograd keeps them anyway; on the dense
        path, query_chunk=None; and when the conversations fit one query block, where a bias is
        small and recomputing it per layer would only cost time), or, without autograd on longer
        conversations, on each read (one bias held)."""
        length = utterance_mask.shape[1]
        if torch.is_grad_enabled() or self.query_chunk is None or length <= self.query_chunk:
            return {name: self._layer_bias(name, states, utterance_mask) for name in self.ecce}
        return OnDemandBiases(self._layer_bias, dict(states), utterance_mask, tuple(self.ecce))

    def _layer_bias(
        self, name: str, states: Mapping[str, torch.Tensor], utterance_mask: torch.Tensor
    ) -> torch.Tensor:
        """One modality's bias as the layers read it: with `keys_in_bias`, padded keys at -inf."""
        bias = self.ecce[name](states[name], utterance_mask)
        return to_sdpa_mask(bias, utterance_mask) if self.keys_in_bias else bias

    def forward(
        self,
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        present: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """features {name: (B,L,D_m)}, utterance_mask (B,L), present (B,L,M) -> (B,L,out_dim)."""
        check_inputs(features, utterance_mask, present, self.modality_dims, self.modalities)
        batch, length = utterance_mask.shape
        bucketed = self.bucket_forward and batch > 1
        buckets = split_batch(utterance_mask, self.bucket_cost) if bucketed else []
        if len(buckets) <= 1 and (not buckets or buckets[0].length == length):
            logits, hidden = self._padded_forward(features, utterance_mask, present)
        else:
            logits, hidden = self._bucketed_forward(buckets, features, utterance_mask, present)
        for tap, state in zip(self.taps, hidden, strict=True):
            tap(state)
        return logits

    def _bucketed_forward(
        self,
        buckets: Sequence[Bucket],
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        present: torch.Tensor | None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """`_padded_forward` per bucket, outputs (and router weights) put back in place."""
        scatter = Scatter(buckets, utterance_mask)
        routed = [m for m in self.modules() if hasattr(m, "last_weights")]
        logits, hidden, weights = [], [], []
        for bucket in buckets:
            out, states = self._padded_forward(
                *take_inputs(bucket, features, utterance_mask, present)
            )
            logits.append(out)
            hidden.append(states)
            weights.append([m.last_weights for m in routed])
        for index, module in enumerate(routed):
            module.last_weights = scatter([w[index] for w in weights])
        return scatter(logits), [scatter(list(layer)) for layer in zip(*hidden, strict=True)]

    def _padded_forward(
        self,
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        present: torch.Tensor | None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The whole batch padded to its L: logits (B,L,out_dim) and each layer's fused query
        state (B,L,hidden_dim), first layer first."""
        standardized: dict[str, torch.Tensor] | None = {} if self.ecce_input == "features" else None
        states = self._project(features, utterance_mask, present, standardized)
        biases = self._layer_biases(standardized or states, utterance_mask)
        key_valid = {
            name: utterance_mask if present is None else utterance_mask & present[..., index]
            for index, name in enumerate(self.modalities)
        }
        recompute = self.activation_checkpointing and self.training and torch.is_grad_enabled()
        hidden = []
        for index, layer in enumerate(self.layers):
            if self.ecce_per_layer:
                biases = self._own_biases(self.layer_ecce[index], states, utterance_mask)
            if recompute:
                states = checkpoint(
                    layer, states, biases, utterance_mask, key_valid, use_reentrant=False
                )
            else:
                states = layer(states, biases, utterance_mask, key_valid)
            hidden.append(states[self.modalities[0]])
        out = self.head(self.head_drop(self.norm(hidden[-1])))
        return out, hidden

    def _own_biases(
        self, ecces: nn.ModuleDict, states: Mapping[str, torch.Tensor], utterance_mask: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """One layer's own ECCE biases on its input states (``ecce_per_layer``)."""
        out = {}
        for name, ecce in ecces.items():
            bias = ecce(states[name], utterance_mask)
            out[name] = to_sdpa_mask(bias, utterance_mask) if self.keys_in_bias else bias
        return out

    def ecce_biases(
        self,
        features: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        present: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The shared ECCE bias per modality {name: (B,H,L,L)} (with ``ecce_per_layer``: the first
        layer's); empty when ecce="none"."""
        standardized: dict[str, torch.Tensor] = {}
        states = self._project(features, utterance_mask, present, standardized)
        if self.ecce_per_layer:
            return {
                name: ecce(states[name], utterance_mask)
                for name, ecce in self.layer_ecce[0].items()
            }
        source = standardized if self.ecce_input == "features" else states
        return self._biases(source, utterance_mask)

    def hidden_layer_paths(self, k: int = 3) -> list[str]:
        """Module paths of the fused query hidden states (B,L,hidden_dim) of the last k layers,
        nearest-the-output first (for forward hooks, e.g. its_distill): the `taps`, which see
        each state once per forward on the whole batch, also when it runs in buckets."""
        n = len(self.layers)
        if not 1 <= k <= n:
            raise ValueError(f"k must be between 1 and num_layers={n}, got {k}")
        return [f"taps.{i}" for i in range(n - 1, n - 1 - k, -1)]

    @property
    def router_weights(self) -> list[torch.Tensor]:
        """Last forward's router weights per layer (B,L,4), averaged over the layer's
        modalities (each still sums to 1); empty for the attention mixer."""
        return [
            torch.stack(list(per_modality.values())).mean(0)
            for per_modality in self.router_weights_per_modality
            if per_modality
        ]

    @property
    def router_weights_per_modality(self) -> list[dict[str, torch.Tensor]]:
        """Last forward's router weights per layer and modality {name: (B,L,4)}."""
        out = []
        for layer in self.layers:
            weights = {}
            for name, block in layer.blocks.items():
                last = getattr(block.mixer, "last_weights", None)
                if last is not None:
                    weights[name] = last
            out.append(weights)
        return out if any(out) else []

    def parameter_groups(self, lr: float, router_lr: float, weight_decay: float) -> list[dict]:
        """AdamW groups: "decay" (matrices), "no_decay" (biases, norms) at `lr`; "router" at
        `router_lr`. Empty groups are left out."""
        router_ids = {
            id(p)
            for module in self.modules()
            if isinstance(module, Router)
            for p in module.parameters()
        }
        groups: dict[str, list[nn.Parameter]] = {"decay": [], "no_decay": [], "router": []}
        for param in self.parameters():
            if not param.requires_grad:
                continue
            if id(param) in router_ids:
                groups["router"].append(param)
            elif param.ndim >= 2:
                groups["decay"].append(param)
            else:
                groups["no_decay"].append(param)
        settings = {
            "decay": (lr, weight_decay),
            "no_decay": (lr, 0.0),
            "router": (router_lr, weight_decay),
        }
        return [
            {
                "name": name,
                "params": params,
                "lr": settings[name][0],
                "weight_decay": settings[name][1],
            }
            for name, params in groups.items()
            if params
        ]


class HiddenTap(nn.Identity):
    """Identity over one layer's fused query state (B,L,D), a stable place for a forward hook;
    `out_features` lets its_distill infer the width."""

    def __init__(self, out_features: int) -> None:
        super().__init__()
        self.out_features = out_features


class OnDemandBiases(Mapping[str, torch.Tensor]):
    """{name: bias (B,H,L,L)} computed by `compute(name, states, utterance_mask)` on each read, not
    stored (ITEACHNet._layer_bias)."""

    def __init__(
        self,
        compute: Callable[[str, Mapping[str, torch.Tensor], torch.Tensor], torch.Tensor],
        states: Mapping[str, torch.Tensor],
        utterance_mask: torch.Tensor,
        names: tuple[str, ...],
    ) -> None:
        self.compute, self.states, self.utterance_mask = compute, states, utterance_mask
        self.names = names

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self.names:
            raise KeyError(name)
        return self.compute(name, self.states, self.utterance_mask)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


# The paper's depths (Table 3): a 3-layer attention teacher and a 4-layer NAS student.
PAPER_LAYERS: dict[str, int] = {"teacher": 3, "student": 4}


@register_model("attention", label="attention", kind="encoder")
def iteach_attention(modality_dims: Mapping[str, int], out_dim: int, **kw: object) -> ITEACHNet:
    """ITEACH-Net with the ECCE-guided self-attention mixer (3 layers unless num_layers=)."""
    return ITEACHNet(
        modality_dims,
        out_dim,
        **{"num_layers": PAPER_LAYERS["teacher"], **kw, "mixer": "attention"},
    )


@register_model("nas", label="nas", kind="encoder")
def iteach_nas(modality_dims: Mapping[str, int], out_dim: int, **kw: object) -> ITEACHNet:
    """ITEACH-Net with the searchable NAS mixer (4 layers unless num_layers=)."""
    return ITEACHNet(
        modality_dims, out_dim, **{"num_layers": PAPER_LAYERS["student"], **kw, "mixer": "nas"}
    )


@register_model("iteach_teacher", label="teacher", paper_parameters=2.19e6, kind="preset")
def iteach_teacher(modality_dims: Mapping[str, int], out_dim: int, **kw: object) -> ITEACHNet:
    """The paper's teacher: 3 layers, attention mixer (overridable: mixer=, num_layers=)."""
    return ITEACHNet(
        modality_dims,
        out_dim,
        **{"num_layers": PAPER_LAYERS["teacher"], "mixer": "attention", **kw},
    )


@register_model("iteach_student", label="student", paper_parameters=3.88e6, kind="preset")
def iteach_student(modality_dims: Mapping[str, int], out_dim: int, **kw: object) -> ITEACHNet:
    """The paper's student: 4 layers, NAS mixer (overridable: mixer=, num_layers=)."""
    return ITEACHNet(
        modality_dims, out_dim, **{"num_layers": PAPER_LAYERS["student"], "mixer": "nas", **kw}
    )


@register_model("iteach", label="ITEACH-Net", paper_parameters=3.88e6, kind="framework")
def iteach(modality_dims: Mapping[str, int], out_dim: int, **kw: object) -> ITEACHNet:
    """ITEACH-Net as deployed: the framework trains a teacher and a student (training/
    framework.py) and inference runs the student, so this builds the paper's student; its
    count is the student's (Table 3)."""
    return iteach_student(modality_dims, out_dim, **kw)
