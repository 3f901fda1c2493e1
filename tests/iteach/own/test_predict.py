"""`iteach-app predict RUN`: the run's best student on new conversations, absent modalities,
JSONL / CSV output, labels optional, and the errors for tables that do not fit the run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from erc_data import load_conversations
from iteach_app.data import collate
from iteach_app.training.evaluation import load_trained
from missing_modality import metrics
from tests.iteach.conftest import invoke as _invoke
from tests.iteach.own.conftest import tiny_model_flags, train_on_own_table

TINY_MODEL = tiny_model_flags(eval_rates="0,0.5")
DROPPED = {"audio": ["s1c0u0", "s1c1u1", "s1c2u0"], "text": ["s1c0u1"]}


@pytest.fixture(scope="module")
def run(tmp_path_factory, own_table) -> Path:
    path, features = own_table(tmp_path_factory.mktemp("train") / "data")
    out = tmp_path_factory.mktemp("runs")
    return train_on_own_table(path, features, out, "--epochs", 2, "-q", *TINY_MODEL)


@pytest.fixture(scope="module")
def new_table(tmp_path_factory, own_table) -> tuple[Path, dict[str, str]]:
    """Unseen conversations (seed 1) with some text and audio arrays missing, labelled."""
    return own_table(tmp_path_factory.mktemp("new"), splits=None, seed=1, drop=DROPPED)


def _reference(run: Path, table: Path, features: dict[str, str]) -> np.ndarray:
    """(N, C) probabilities from the student on one batch per conversation, absent rows zero."""
    config, _, model, _ = load_trained(run, device="cpu")
    dataset = load_conversations(table, features, label_names=config.labels, missing="absent")
    rows = []
    for index, conv in enumerate(dataset):
        batch = collate(dataset, [index])
        present = torch.stack(
            [torch.from_numpy(conv.present.get(m, np.ones(len(conv), bool))) for m in
             model.student.modalities], dim=-1,
        )[None]  # fmt: skip
        with torch.no_grad():
            logits = model.student(
                features=batch.features, utterance_mask=batch.utterance_mask, present=present
            )
        rows.append(torch.softmax(logits[0], dim=-1).numpy())
    return np.concatenate(rows)


def test_jsonl_holds_every_utterance_with_probabilities_and_presence(run, new_table, features_arg):
    path, features = new_table
    out = path.parent / "pred.jsonl"
    result = _invoke(
        "predict", run, "--conversations", path, "--features", features_arg(features),
        "--out", out, "--batch-size", 3,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    table = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["utterance_id"] for r in records] == [t["utterance_id"] for t in table]
    assert [r["conversation_id"] for r in records] == [t["conversation_id"] for t in table]
    expected = _reference(run, path, features)
    classes = json.loads((run / "config.json").read_text())["labels"]
    for record, probs in zip(records, expected, strict=True):
        got = [record["probabilities"][name] for name in classes]
        np.testing.assert_allclose(got, probs, atol=1e-5)
        assert record["prediction"] == classes[int(np.argmax(probs))]
        for m in ("text", "audio"):
            assert record["present"][m] is (record["utterance_id"] not in DROPPED[m])
    labels = np.array([classes.index(t["label"]) for t in table])
    predicted = np.array([classes.index(r["prediction"]) for r in records])
    assert f"acc {float(np.mean(predicted == labels)):.4f}" in result.output
    assert f"waf {metrics.weighted_f1(predicted, labels):.4f}" in result.output
    assert "audio absent" in result.output


def test_csv_has_one_column_per_class_and_modality(run, new_table, features_arg) -> None:
    path, features = new_table
    out = path.parent / "pred.csv"
    result = _invoke(
        "predict", run, "--conversations", path, "--features", features_arg(features), "--out", out
    )
    assert result.exit_code == 0, result.output
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    classes = json.loads((run / "config.json").read_text())["labels"]
    assert list(rows[0]) == [
        "conversation_id", "utterance_id", "prediction",
        *(f"p_{c}" for c in classes), "present_text", "present_audio", "label",
    ]  # fmt: skip
    absent = {r["utterance_id"] for r in rows if r["present_audio"] == "0"}
    assert absent == set(DROPPED["audio"])
    for row in rows:
        assert sum(float(row[f"p_{c}"]) for c in classes) == pytest.approx(1.0, abs=1e-4)


def test_a_modality_left_out_is_absent_everywhere(run, new_table) -> None:
    path, features = new_table
    out = path.parent / "text_only.jsonl"
    result = _invoke(
        "predict", run, "--conversations", path, "--features", f"text={features['text']}",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert not any(r["present"]["audio"] for r in records)
    assert sum(not r["present"]["text"] for r in records) == len(DROPPED["text"])


def test_without_labels_predicts_and_says_so(run, tmp_path: Path, own_table, features_arg) -> None:
    path, features = own_table(tmp_path, splits=None, labelled=False, seed=2)
    out = tmp_path / "pred.jsonl"
    result = _invoke(
        "predict", run, "--conversations", path, "--features", features_arg(features), "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "no labels" in result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records
    assert all("label" not in r for r in records)


def test_feature_dims_that_differ_from_the_run_name_both(run, tmp_path, own_table, features_arg):
    path, features = own_table(tmp_path, splits=None, dims={"text": 6, "audio": 5})
    result = _invoke("predict", run, "--conversations", path, "--features", features_arg(features))
    assert result.exit_code == 2
    assert "feature dim 6" in result.output
    assert "text of dim 8" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_modalities_are_named(run, new_table) -> None:
    path, features = new_table
    result = _invoke(
        "predict", run, "--conversations", path, "--features", f"video={features['text']}"
    )
    assert result.exit_code == 2
    assert "'video' is not one of the run's modalities text, audio" in result.output


def test_an_output_without_a_known_extension_is_refused(run, new_table, features_arg) -> None:
    path, features = new_table
    result = _invoke(
        "predict", run, "--conversations", path, "--features", features_arg(features),
        "--out", path.parent / "pred.txt",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "use a .jsonl or .csv" in result.output
