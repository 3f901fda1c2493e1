"""ITEACH-Net: the model of the app (encoder, token mixers, builders)."""

from iteach_app.model.attention import AttentionMixer
from iteach_app.model.block import MetaFormerBlock
from iteach_app.model.builders import (
    PAPER_DIMS,
    PAPER_PARAMETERS,
    build_student,
    build_teacher,
    count_parameters,
    paper_parameter_table,
)
from iteach_app.model.fusion import CrossAttention, CrossFusionBlock, CrossModalFusion
from iteach_app.model.layer import EncoderLayer
from iteach_app.model.network import ITEACHNet
from iteach_app.model.pooling import AvgPoolMixer, MaxPoolMixer
from iteach_app.model.router import CANDIDATES, NASMixer, Router
from iteach_app.model.utterance_mlp import UtteranceMlpMixer

__all__ = [
    "CANDIDATES",
    "PAPER_DIMS",
    "PAPER_PARAMETERS",
    "AttentionMixer",
    "AvgPoolMixer",
    "CrossAttention",
    "CrossFusionBlock",
    "CrossModalFusion",
    "EncoderLayer",
    "ITEACHNet",
    "MaxPoolMixer",
    "MetaFormerBlock",
    "NASMixer",
    "Router",
    "UtteranceMlpMixer",
    "build_student",
    "build_teacher",
    "count_parameters",
    "paper_parameter_table",
]
