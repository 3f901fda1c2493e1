"""A trained run's student on new conversations (`iteach-app predict`): load the table with
absent modalities allowed, check it against the run, predict per utterance, write JSONL or CSV.

An utterance lacking an array in a modality (no key in the .npz, no file in the folder), or a
run modality not given at all, is absent: zero-filled and marked False in ``present``, exactly
as UME masks a modality, so the student sees what it was trained to handle.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from erc_data import ERCDataset, load_conversations
from erc_data.batch import ConversationBatch
from iteach_app.config import ConfigError, TrainConfig
from iteach_app.csv_safe import safe_row
from iteach_app.data import DataBundle, chunks, collate
from iteach_app.io import atomic_write_text
from iteach_app.model.protocol import ModelContract
from missing_modality import metrics

OUTPUT_SUFFIXES = (".jsonl", ".csv")


@dataclass
class Predictions:
    """Per-utterance predictions of one table, in table order (conversations, then utterances).

    ``probabilities`` (N, C) for classification, else None; ``scores`` (N,) regression values or
    the predicted class index; ``present`` modality -> (N,) bool; ``labels`` (N,) or None.
    """

    task: str
    class_names: list[str]
    modalities: tuple[str, ...]
    conversation_ids: list[str] = field(default_factory=list)
    utterance_ids: list[str] = field(default_factory=list)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    probabilities: np.ndarray | None = None
    present: dict[str, np.ndarray] = field(default_factory=dict)
    labels: np.ndarray | None = None

    def label_of(self, index: int) -> str:
        """The predicted class name (or index as text) of utterance ``index``."""
        cls = int(self.scores[index])
        return self.class_names[cls] if self.class_names else str(cls)

    def records(self) -> list[dict[str, Any]]:
        """One dict per utterance: ids, prediction, probabilities, present modalities, label."""
        out = []
        for n, (cid, uid) in enumerate(zip(self.conversation_ids, self.utterance_ids, strict=True)):
            record: dict[str, Any] = {"conversation_id": cid, "utterance_id": uid}
            if self.probabilities is not None:
                width = self.probabilities.shape[1]
                names = self.class_names or [str(k) for k in range(width)]
                record["prediction"] = self.label_of(n)
                record["probabilities"] = {
                    name: round(float(p), 6)
                    for name, p in zip(names, self.probabilities[n], strict=True)
                }
            else:
                record["prediction"] = round(float(self.scores[n]), 6)
            record["present"] = {m: bool(self.present[m][n]) for m in self.modalities}
            if self.labels is not None:
                record["label"] = self._label_text(n)
            out.append(record)
        return out

    def _label_text(self, n: int) -> Any:
        if self.task == "regression":
            return round(float(self.labels[n]), 6)  # type: ignore[index]
        cls = int(self.labels[n])  # type: ignore[index]
        return self.class_names[cls] if self.class_names else cls

    def quality(self) -> dict[str, float] | None:
        """Accuracy and weighted F1 (classification) or MAE, binary accuracy and binary WAF
        (regression) against the table's labels; None without labels."""
        if self.labels is None or not len(self.labels):
            return None
        if self.task == "classification":
            return {
                "acc": metrics.accuracy(self.scores, self.labels),
                "waf": metrics.weighted_f1(self.scores, self.labels),
            }
        return {
            "mae": metrics.mean_absolute_error(self.scores, self.labels),
            "acc2": metrics.binary_accuracy(self.scores, self.labels),
            "binary_waf": metrics.binary_weighted_f1(self.scores, self.labels),
        }


def parse_output(path: Path) -> str:
    """The output format of ``path`` from its extension: "jsonl" or "csv"."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--out {path}: use a .jsonl or .csv file name; got {suffix or 'none'!r}")
    return suffix[1:]


def load_new_conversations(
    table: Path, features: Mapping[str, str], config: TrainConfig, data: DataBundle
) -> ERCDataset:
    """The table with absent modalities allowed and labels optional, checked against the run:
    only the run's modalities, each of the run's feature width."""
    run_dims = data.modality_dims
    unknown = [m for m in features if m not in run_dims]
    if unknown:
        raise ConfigError(
            f"--features: modality {', '.join(map(repr, unknown))} is not one of the run's "
            f"modalities {', '.join(run_dims)}"
        )
    names = list(config.labels) or list(data.dataset.label_names)
    dataset = load_conversations(
        table,
        features,
        task=data.task,  # type: ignore[arg-type]
        num_classes=data.out_dim if data.task == "classification" and not names else None,
        label_names=names or None,
        missing="absent",
        require_labels=False,
    )
    for m, dim in dataset.modality_dims.items():
        if dim != run_dims[m]:
            raise ConfigError(
                f"--features {m}={features[m]}: feature dim {dim}, but the run was trained on "
                f"{m} of dim {run_dims[m]}"
            )
    return dataset


def present_matrix(batch: ConversationBatch, conversations: Sequence, modalities: Sequence[str]):
    """(B, L, M) bool: True where the utterance is real and its modality was observed."""
    present = torch.zeros(*batch.utterance_mask.shape, len(modalities), dtype=torch.bool)
    for row, conv in enumerate(conversations):
        for k, m in enumerate(modalities):
            observed = conv.present.get(m) if m in conv.features else np.zeros(len(conv), bool)
            if observed is None:
                observed = np.ones(len(conv), dtype=bool)
            present[row, : len(conv), k] = torch.from_numpy(np.asarray(observed, dtype=bool))
    return present


def predict_conversations(
    student: ModelContract,
    dataset: ERCDataset,
    *,
    task: str,
    run_dims: Mapping[str, int],
    class_names: Sequence[str],
    batch_size: int,
    device: torch.device,
) -> Predictions:
    """Run ``student`` (eval mode) on every conversation of ``dataset`` in batches."""
    modalities = tuple(student.modalities)
    result = Predictions(task, list(class_names), modalities)
    scores, probabilities, labels = [], [], []
    present_rows: dict[str, list[np.ndarray]] = {m: [] for m in modalities}
    labelled = _has_labels(dataset, task)
    student.eval()
    for indices in chunks(range(len(dataset)), batch_size):
        conversations = [dataset[i] for i in indices]
        batch = collate(dataset, indices)
        present = present_matrix(batch, conversations, modalities)
        shape = batch.utterance_mask.shape
        features = {
            m: batch.features[m] if m in batch.features else torch.zeros(*shape, run_dims[m])
            for m in modalities
        }
        with torch.no_grad():
            out = student(
                features={m: x.to(device) for m, x in features.items()},
                utterance_mask=batch.utterance_mask.to(device),
                present=present.to(device),
            ).cpu()
        valid = batch.utterance_mask
        if task == "classification":
            probs = torch.softmax(out.float(), dim=-1)[valid]
            probabilities.append(probs.numpy())
            scores.append(probs.argmax(dim=-1).numpy())
        else:
            scores.append(out.squeeze(-1)[valid].float().numpy())
        for k, m in enumerate(modalities):
            present_rows[m].append(present[..., k][valid].numpy())
        labels.append(batch.labels[valid].numpy())
        for conv in conversations:
            result.conversation_ids += [conv.id] * len(conv)
            result.utterance_ids += list(conv.utterance_ids)
    result.scores = np.concatenate(scores)
    result.probabilities = np.concatenate(probabilities) if probabilities else None
    result.present = {m: np.concatenate(rows) for m, rows in present_rows.items()}
    result.labels = np.concatenate(labels) if labelled else None
    return result


def _has_labels(dataset: ERCDataset, task: str) -> bool:
    first = dataset[0].labels
    if task == "regression":
        return not math.isnan(float(first[0]))
    return int(first[0]) >= 0


def write_predictions(predictions: Predictions, path: Path) -> None:
    """JSONL (one record a line) or CSV (probabilities as ``p_<class>``, ``present_<modality>``
    columns) by ``path``'s extension; written atomically."""
    kind = parse_output(path)
    records = predictions.records()
    if kind == "jsonl":
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))
        return
    rows = []
    for record in records:
        row = {k: record[k] for k in ("conversation_id", "utterance_id", "prediction")}
        row.update({f"p_{name}": p for name, p in record.get("probabilities", {}).items()})
        row.update({f"present_{m}": int(v) for m, v in record["present"].items()})
        if "label" in record:
            row["label"] = record["label"]
        rows.append(safe_row(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
