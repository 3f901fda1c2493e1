"""missing_modality: a formal missing rate, maskers, schedules, metrics and UME / IME reports."""

from importlib import metadata as _metadata

from missing_modality.conversation_mask import conversation_generator, conversation_mask
from missing_modality.masker import MaskedFeatures, ModalityMasker, zero_fill
from missing_modality.metrics import (
    accuracy,
    binary_accuracy,
    binary_weighted_f1,
    confusion_matrix,
    mean_absolute_error,
    weighted_f1,
)
from missing_modality.plot import METRIC_LABELS, plot_ume, ume_figure
from missing_modality.random_mask import (
    effective_rate,
    mask_with_count,
    missing_count,
    missing_fraction,
    random_mask,
)
from missing_modality.result import UMEResult, compare_markdown
from missing_modality.schedules import (
    Constant,
    Progressive,
    RandomRate,
    Schedule,
    parse_schedule,
    rate_grid,
)
from missing_modality.svg import ume_svg
from missing_modality.ume import DEFAULT_RATES, evaluate_ime, evaluate_ume, rate_generator

try:  # the one version source is the repository's VERSION file, recorded in the metadata
    __version__ = _metadata.version("missing-modality")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_RATES",
    "METRIC_LABELS",
    "Constant",
    "MaskedFeatures",
    "ModalityMasker",
    "Progressive",
    "RandomRate",
    "Schedule",
    "UMEResult",
    "accuracy",
    "binary_accuracy",
    "binary_weighted_f1",
    "compare_markdown",
    "confusion_matrix",
    "conversation_generator",
    "conversation_mask",
    "effective_rate",
    "evaluate_ime",
    "evaluate_ume",
    "mask_with_count",
    "mean_absolute_error",
    "missing_count",
    "missing_fraction",
    "parse_schedule",
    "plot_ume",
    "random_mask",
    "rate_generator",
    "rate_grid",
    "ume_figure",
    "ume_svg",
    "weighted_f1",
    "zero_fill",
]
