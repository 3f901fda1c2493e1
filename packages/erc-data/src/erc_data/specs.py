"""What each GCNet release dataset is: its folder, label pickle, task, label range and class
names (in label-index order; empty for regression)."""

from __future__ import annotations

from dataclasses import dataclass

from erc_data.errors import DataError


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the GCNet feature release."""

    name: str
    folder: str
    label_file: str
    task: str
    num_classes: int | None
    has_val: bool
    label_range: tuple[float, float]
    label_names: tuple[str, ...] = ()


# GCNet label order: class 0 of the 4-way set is happy + excited merged.
IEMOCAP_FOUR_NAMES = ("happy", "sad", "neutral", "angry")
IEMOCAP_SIX_NAMES = ("happy", "sad", "neutral", "angry", "excited", "frustrated")

DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec(
            "IEMOCAPFour", "IEMOCAP", "IEMOCAP_features_raw_4way.pkl",
            "classification", 4, False, (0, 3), IEMOCAP_FOUR_NAMES,
        ),
        DatasetSpec(
            "IEMOCAPSix", "IEMOCAP", "IEMOCAP_features_raw_6way.pkl",
            "classification", 6, False, (0, 5), IEMOCAP_SIX_NAMES,
        ),
        DatasetSpec(
            "CMUMOSI", "CMUMOSI", "CMUMOSI_features_raw_2way.pkl",
            "regression", None, True, (-3.0, 3.0),
        ),
        DatasetSpec(
            "CMUMOSEI", "CMUMOSEI", "CMUMOSEI_features_raw_2way.pkl",
            "regression", None, True, (-3.0, 3.0),
        ),
    )
}  # fmt: skip


def get_spec(dataset: str) -> DatasetSpec:
    """The spec of ``dataset``; an unknown name raises listing the known ones."""
    try:
        return DATASETS[dataset]
    except KeyError:
        raise DataError(f"unknown dataset {dataset!r}; known: {sorted(DATASETS)}") from None


def session_of(dialogue_id: str) -> int:
    """IEMOCAP session of a dialogue id: ``int(dialogue_id[4])`` (``Ses03M_impro08b`` -> 3)."""
    if len(dialogue_id) < 5 or not dialogue_id[4].isdigit():
        raise DataError(f"IEMOCAP dialogue id {dialogue_id!r} has no session digit at position 4")
    return int(dialogue_id[4])
