"""The modality audit's cache: keyed by exactly what the audit reads, reused across runs,
recomputed when unreadable; `train --no-audit` skips the audit."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import iteach_app.report.audit_cache as audit_cache
from erc_data import Conversation, ERCDataset
from iteach_app.data import DataBundle, build_splits
from iteach_app.report.audit_cache import audit_key, cache_dir, cached_audit
from iteach_app.training.trainer import Trainer


@pytest.fixture
def bundle(make_config) -> DataBundle:
    return build_splits(make_config(synthetic_dialogues=20))


def _edited(bundle: DataBundle, split: str, edit) -> DataBundle:
    """``bundle`` with the first conversation of ``split`` changed by ``edit(conversation)``."""
    dataset = getattr(bundle, split)
    first = dataset[0]
    changed = Conversation(
        first.id,
        list(first.utterance_ids),
        first.speakers,
        np.array(first.labels, copy=True),
        {name: x.copy() for name, x in first.features.items()},
        {name: p.copy() for name, p in first.present.items()},
    )
    edit(changed)
    conversations = [changed, *(dataset[i] for i in range(1, len(dataset)))]
    new = ERCDataset(
        conversations,
        name=dataset.name,
        task=dataset.task,
        num_classes=dataset.num_classes,
        modality_dims=dataset.modality_dims,
    )
    return dataclasses.replace(bundle, **{split: new})


def _set_label(c: Conversation) -> None:
    c.labels[0] = (int(c.labels[0]) + 1) % 4


def _set_feature(c: Conversation) -> None:
    c.features["audio"][0, 0] += 1e-3


def _drop_modality(c: Conversation) -> None:
    present = np.ones(len(c.labels), dtype=bool)
    present[0] = False
    c.present["video"] = present


def test_key_is_stable_and_follows_every_input(bundle) -> None:
    key = audit_key(bundle)
    assert key == audit_key(_edited(bundle, "train", lambda c: None))
    for split in ("train", "val"):
        for edit in (_set_label, _set_feature, _drop_modality):
            assert audit_key(_edited(bundle, split, edit)) != key, (split, edit.__name__)
    # the test split is not read when there is a validation split
    assert audit_key(_edited(bundle, "test", _set_feature)) == key


def test_second_audit_comes_from_the_cache(bundle, tmp_path, monkeypatch) -> None:
    first, cached = cached_audit(bundle, tmp_path)
    assert not cached
    assert len(list(tmp_path.glob("*.json"))) == 1

    def fail(_bundle):
        raise AssertionError("the audit ran again")

    monkeypatch.setattr(audit_cache, "audit_modalities", fail)
    second, cached = cached_audit(bundle, tmp_path)
    assert cached
    assert second == first
    assert second.short_lines() == first.short_lines()


def test_unreadable_cache_file_is_recomputed(bundle, tmp_path) -> None:
    report, _ = cached_audit(bundle, tmp_path)
    path = tmp_path / f"{audit_key(bundle)}.json"
    for bad in ("{not json", json.dumps({"metric": "WAF"})):
        path.write_text(bad)
        again, cached = cached_audit(bundle, tmp_path)
        assert not cached
        assert again == report
        assert json.loads(path.read_text())["metric"] == report.metric


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ITEACH_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "audit"
    monkeypatch.delenv("ITEACH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "iteach-app" / "audit"


@pytest.mark.parametrize("audit", [True, False])
def test_train_audits_unless_told_not_to(audit, make_config, tiny_data, tmp_path):
    """The command layer hands the trainer the cached audit; the trainer calls it only when the
    config asks for the audit (``--no-audit`` skips it)."""
    calls = []

    def counted(bundle):
        calls.append(bundle)
        return audit_cache.audit_lines(bundle)

    config = make_config(epochs=1, audit=audit)
    Trainer(config, tmp_path / "run", data=tiny_data, verbose=True, audit=counted).fit()
    assert len(calls) == (1 if audit else 0)
