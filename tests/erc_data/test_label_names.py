"""Class names of the release datasets: defined once in the specs, carried by the loader, the
synthetic look-alikes and the feature cache."""

from __future__ import annotations

import pytest

from erc_data import DATASETS, load_gcnet
from erc_data.synthetic import iemocap_like, mosi_like, write_gcnet_layout


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_classification_spec_names_each_class(name: str) -> None:
    spec = DATASETS[name]
    if spec.task == "classification":
        assert len(spec.label_names) == spec.num_classes
        assert len(set(spec.label_names)) == spec.num_classes
    else:
        assert spec.label_names == ()


def test_iemocap_names_follow_the_gcnet_label_order() -> None:
    assert DATASETS["IEMOCAPFour"].label_names == ("happy", "sad", "neutral", "angry")
    assert DATASETS["IEMOCAPSix"].label_names[4:] == ("excited", "frustrated")


@pytest.mark.parametrize(("classes", "dataset"), [(4, "IEMOCAPFour"), (6, "IEMOCAPSix")])
def test_loader_and_cache_carry_the_names(tmp_path, classes: int, dataset: str) -> None:
    source = iemocap_like(classes, num_dialogues=10, dims={"text": 4})
    assert source.label_names == DATASETS[dataset].label_names
    write_gcnet_layout(source, tmp_path / "data", dataset)
    cache = tmp_path / "cache"
    first = load_gcnet(tmp_path / "data", dataset, {"text": "text-4-UTT"}, cache_dir=cache)
    cached = load_gcnet(tmp_path / "data", dataset, {"text": "text-4-UTT"}, cache_dir=cache)
    assert first.label_names == cached.label_names == DATASETS[dataset].label_names
    assert first.subset([0, 1]).label_names == DATASETS[dataset].label_names


def test_other_class_counts_and_regression_have_no_names() -> None:
    assert iemocap_like(3, num_dialogues=5).label_names == ()
    assert mosi_like(num_dialogues=5).label_names == ()
