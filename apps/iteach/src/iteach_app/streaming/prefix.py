"""The fallback for models that cannot be stepped: run the model on the whole prefix each time.

Used for runs trained without ``--causal`` and for the baselines (the utterance-level ones give
the same as offline: they read each utterance alone). A step costs a forward over all n
utterances so far, O(n) to O(n^2) per utterance; it is also the reference the streaming
benchmark measures the incremental engine against. For a non-causal model the result is what
the model says having seen the conversation up to now, which differs from offline ``predict``
(there it also sees later utterances).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class PrefixState:
    """The conversation so far: per modality a list of (D_m,) rows and of presence flags."""

    rows: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    present: list[list[bool]] = field(default_factory=list)

    @property
    def length(self) -> int:
        return len(self.present)

    @property
    def nbytes(self) -> int:
        return sum(r.numel() * r.element_size() for rows in self.rows.values() for r in rows)


class PrefixEngine:
    """``step(state, features, present) -> (out_dim,)``: the model on utterances 0 .. n, at n."""

    def __init__(self, model: nn.Module, modalities: tuple[str, ...]) -> None:
        self.model = model
        self.modalities = modalities

    def new_state(self) -> PrefixState:
        return PrefixState(rows={name: [] for name in self.modalities})

    def step_many(
        self,
        states: Sequence[PrefixState],
        features: Mapping[str, torch.Tensor],
        present: torch.Tensor,
    ) -> torch.Tensor:
        """``step`` for each of B conversations in turn: (B, out_dim)."""
        return torch.stack(
            [
                self.step(
                    state,
                    {m: x[b] for m, x in features.items()},
                    {m: bool(present[b, k]) for k, m in enumerate(self.modalities)},
                )
                for b, state in enumerate(states)
            ]
        )

    @torch.no_grad()
    def step(
        self,
        state: PrefixState,
        features: Mapping[str, torch.Tensor],
        present: Mapping[str, bool],
    ) -> torch.Tensor:
        for name in self.modalities:
            row = features[name] if present[name] else torch.zeros_like(features[name])
            state.rows[name].append(row)
        state.present.append([present[name] for name in self.modalities])
        inputs = {name: torch.stack(rows)[None] for name, rows in state.rows.items()}
        first = inputs[self.modalities[0]]
        mask = torch.ones(1, state.length, dtype=torch.bool, device=first.device)
        observed = torch.tensor(state.present, device=first.device)[None]
        return self.model(features=inputs, utterance_mask=mask, present=observed)[0, -1]
