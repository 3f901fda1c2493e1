"""Real-time use: a trained run's student on conversations as they happen (`StreamingPredictor`),
stepped one utterance at a time for causal runs (`IncrementalITEACH`)."""

from iteach_app.streaming.incremental import ConversationState, IncrementalITEACH
from iteach_app.streaming.predictor import Prediction, StreamingPredictor
from iteach_app.streaming.prefix import PrefixEngine

__all__ = [
    "ConversationState",
    "IncrementalITEACH",
    "Prediction",
    "PrefixEngine",
    "StreamingPredictor",
]
