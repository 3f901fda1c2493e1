"""ITEACH-Net and the app's models, built by name through `create_model` (see registry.py).

Glossary (one word per concept, used in config, code, tables and figures):
- modality: one input stream (text, audio, video); the query modality (text) comes first.
- utterance mask (B,L): True on real utterances, False on padding.
- present (B,L,M): True where a modality of an utterance is available; False = missing.
- ECCE: the Emotion Context Changing Encoder's bias (B,H,L,L) added to attention logits;
  kinds full (local conv + global span mean), global (no local conv), none.
- token mixer: what mixes utterances inside a block: attention (ECCE-guided self-attention),
  utterance MLP (window 3), average / max pooling (pool(x)), or nas (a per-utterance
  router over those four). "attention" is the one name; "transformer" is a deprecated alias.
- block: norm + mixer + residual, norm + MLP + residual (MetaFormer), one per modality.
- fusion: cross-attention of the other modalities into the query modality; missing
  modalities are masked as keys. Its output is a layer's hidden state H.
- standardizer: per-modality (x - mean) / std at the model's input (FeatureStandardizer), its
  statistics buffers fitted on the training split; missing and padded rows stay zero.
- gated fusion: each cross-attention update scaled by tanh of a zero-initialised gate.
- encoder layer: the blocks of all modalities, then fusion.
- real rows: flat indices of the real utterances of a batch; per-utterance layers (input
  projections, MLPs) run on them only (layers/packing.py).
- causal: an online model; utterance i reads utterances 0 .. i only (ECCE spans ending at i,
  masked attention, past-only pooling / MLP windows, fusion inside i's past), so it can be
  stepped one utterance at a time (iteach_app.streaming).
- teacher / student: ITS trains a teacher on complete inputs and a student on masked ones,
  distilling the last three layers' H; the paper's teacher is 3-layer attention, its
  student 4-layer nas (`iteach_teacher`, `iteach_student`).
"""

import iteach_app.model.baselines  # noqa: F401  (its files register the baselines)
from iteach_app.model.iteach import ECCE_KINDS, MIXERS, PAPER_LAYERS, ITEACHNet
from iteach_app.model.layers import (
    CANDIDATES,
    AttentionMixer,
    AvgPoolMixer,
    CrossAttention,
    CrossFusionBlock,
    CrossModalFusion,
    EncoderLayer,
    FeatureStandardizer,
    MaxPoolMixer,
    MetaFormerBlock,
    NASMixer,
    Router,
    UtteranceMlpMixer,
)
from iteach_app.model.parameters import (
    PAPER_DIMS,
    PAPER_PARAMETERS,
    count_parameters,
    paper_parameter_table,
)
from iteach_app.model.protocol import ModelContract
from iteach_app.model.registry import (
    ModelEntry,
    create_model,
    model_entries,
    model_entry,
    model_names,
    register_model,
)

__all__ = [
    "CANDIDATES",
    "ECCE_KINDS",
    "MIXERS",
    "PAPER_DIMS",
    "PAPER_LAYERS",
    "PAPER_PARAMETERS",
    "AttentionMixer",
    "AvgPoolMixer",
    "CrossAttention",
    "CrossFusionBlock",
    "CrossModalFusion",
    "EncoderLayer",
    "FeatureStandardizer",
    "ITEACHNet",
    "MaxPoolMixer",
    "MetaFormerBlock",
    "ModelContract",
    "ModelEntry",
    "NASMixer",
    "Router",
    "UtteranceMlpMixer",
    "count_parameters",
    "create_model",
    "model_entries",
    "model_entry",
    "model_names",
    "paper_parameter_table",
    "register_model",
]
