"""Building blocks of ITEACH-Net: token mixers, the MetaFormer block and encoder layer, fusion."""

from iteach_app.model.layers.block import EncoderLayer, MetaFormerBlock
from iteach_app.model.layers.dropout import FastDropout
from iteach_app.model.layers.fusion import CrossAttention, CrossFusionBlock, CrossModalFusion
from iteach_app.model.layers.masking import masked_attention
from iteach_app.model.layers.mixers import (
    CANDIDATES,
    AttentionMixer,
    AvgPoolMixer,
    MaxPoolMixer,
    NASMixer,
    Router,
    UtteranceMlpMixer,
)
from iteach_app.model.layers.standardize import FeatureStandardizer, ModalityStatistics

__all__ = [
    "CANDIDATES",
    "AttentionMixer",
    "AvgPoolMixer",
    "CrossAttention",
    "CrossFusionBlock",
    "CrossModalFusion",
    "EncoderLayer",
    "FastDropout",
    "FeatureStandardizer",
    "MaxPoolMixer",
    "MetaFormerBlock",
    "ModalityStatistics",
    "NASMixer",
    "Router",
    "UtteranceMlpMixer",
    "masked_attention",
]
