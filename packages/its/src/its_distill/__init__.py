"""its_distill: Inverted Teacher-Student distillation, to make any model robust to missing inputs.

A teacher sees complete inputs, a (larger) student sees inputs with parts missing; both learn the
task, and the student's last hidden states are pulled towards the teacher's where its input was
incomplete. Hidden states are captured with forward hooks, so neither model has to change.
"""

from importlib import metadata as _metadata

from its_distill.calling import call_model
from its_distill.capture import (
    HiddenStateCapture,
    capture_hidden_states,
    resolve_module,
    unwrap_model,
)
from its_distill.losses import DISTANCES, masked_distance, task_loss
from its_distill.output import ITSOutput
from its_distill.widths import infer_width
from its_distill.wrapper import PAPER_LAYER_WEIGHTS, InvertedTeacherStudent

try:  # the one version source is the repository's VERSION file, recorded in the metadata
    __version__ = _metadata.version("its-distill")
except _metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "DISTANCES",
    "PAPER_LAYER_WEIGHTS",
    "HiddenStateCapture",
    "ITSOutput",
    "InvertedTeacherStudent",
    "__version__",
    "call_model",
    "capture_hidden_states",
    "infer_width",
    "masked_distance",
    "resolve_module",
    "task_loss",
    "unwrap_model",
]
