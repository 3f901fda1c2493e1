"""ecce: the Emotion Context Changing Encoder (ITEACH-Net, Sec. 3.3) as an attention bias."""

from importlib import metadata as _metadata

from ecce.adapters import as_score_mod, mha_fastpath_disabled, to_mha_mask, to_sdpa_mask
from ecce.attention import BiasedSelfAttention
from ecce.ecce import ECCE
from ecce.encoder import BiasedTransformerEncoder
from ecce.local import UtteranceConv
from ecce.reference import algorithm1
from ecce.streaming import ECCEStream

try:  # the one version source is the repository's VERSION file, recorded in the metadata
    __version__ = _metadata.version("ecce")
except _metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

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
