"""The self-attention token mixer, guided by an ECCE bias.

ecce's `BiasedSelfAttention` already is a token mixer: built with `(dim, num_heads, proj_drop=)`,
`forward(x (B,L,D), bias (B,H,L,L) | None, utterance_mask (B,L)) -> (B,L,D)`, padded keys masked
out and the bias added to the logits. The app uses it as it is, under the mixer's name.
"""

from __future__ import annotations

from ecce import BiasedSelfAttention

AttentionMixer = BiasedSelfAttention

__all__ = ["AttentionMixer"]
