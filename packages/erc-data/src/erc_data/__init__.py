"""erc_data: Emotion Recognition in Conversation datasets, loaded safely and fast.

`load_gcnet` reads IEMOCAP / CMU-MOSI / CMU-MOSEI in the GCNet release layout, `load_conversations`
reads your own table of utterances, `conversation_loader` batches whole conversations, and
`erc_data.synthetic` makes look-alike datasets with planted structure.
"""

from importlib import metadata as _metadata

from erc_data import synthetic
from erc_data.batch import ConversationBatch, collate_conversations, conversation_loader
from erc_data.byo import load_conversations, save_conversations
from erc_data.cache import default_cache_dir
from erc_data.conversation import Conversation
from erc_data.dataset import ERCDataset
from erc_data.errors import DataError, UnsafePickleError
from erc_data.gcnet import load_gcnet
from erc_data.safe_pickle import ALLOWED_GLOBALS, load_pickle
from erc_data.specs import DATASETS
from erc_data.standardize import Standardizer

try:  # the one version source is the repository's VERSION file, recorded in the metadata
    __version__ = _metadata.version("erc-data")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ALLOWED_GLOBALS",
    "DATASETS",
    "Conversation",
    "ConversationBatch",
    "DataError",
    "ERCDataset",
    "Standardizer",
    "UnsafePickleError",
    "__version__",
    "collate_conversations",
    "conversation_loader",
    "default_cache_dir",
    "load_conversations",
    "load_gcnet",
    "load_pickle",
    "save_conversations",
    "synthetic",
]
