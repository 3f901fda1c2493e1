"""ecce: the Emotion Context Changing Encoder (ITEACH-Net, Sec. 3.3) as an attention bias."""

from ecce.adapters import as_score_mod, mha_fastpath_disabled, to_mha_mask, to_sdpa_mask
from ecce.attention import BiasedSelfAttention
from ecce.ecce import ECCE
from ecce.encoder import BiasedTransformerEncoder
from ecce.local import UtteranceConv
from ecce.reference import algorithm1
from ecce.streaming import ECCEStream

__version__ = "0.1.0"

__all__ = [
    "ECCE",
    "BiasedSelfAttention",
    "BiasedTransformerEncoder",
    "ECCEStream",
    "UtteranceConv",
    "__version__",
    "algorithm1",
    "as_score_mod",
    "mha_fastpath_disabled",
    "to_mha_mask",
    "to_sdpa_mask",
]
