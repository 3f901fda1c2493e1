"""`StreamingPredictor`: a trained run's student on live conversations, one utterance at a time.

    predictor = StreamingPredictor.from_run("runs/my-causal-run")
    p = predictor.push("call-17", {"text": vector, "audio": None}, speaker="A")
    p.prediction, p.probabilities, p.present, p.to_dict()
    predictor.end("call-17")

Each open conversation keeps its own state, so many run at once and a push costs the work of
one new utterance. A run trained with ``--causal`` (ITEACH-Net) is stepped incrementally
(streaming/incremental.py) and its predictions equal offline ``predict`` on the same
conversation. Any other run (trained without ``--causal``, or a baseline) falls back to running
the model on the whole prefix at each push (streaming/prefix.py, ``incremental`` False,
``fallback_reason`` says why): exact for the utterance-level baselines, and for a non-causal
ITEACH-Net the model's reading of the conversation so far (offline it also sees later
utterances). One predictor is not thread-safe: serve it from one thread (or lock around it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from iteach_app.streaming.incremental import IncrementalITEACH, unsupported_reason
from iteach_app.streaming.prefix import PrefixEngine

FeatureValue = Sequence[float] | np.ndarray | torch.Tensor | None


@dataclass(frozen=True)
class Prediction:
    """One utterance's prediction: the fields of ``iteach-app predict``'s JSONL records.

    ``prediction``: the class name (classification) or the value (regression);
    ``probabilities``: class name -> probability (None for regression); ``present``: modality ->
    whether it was given. ``to_dict()`` is the JSON object ``predict --stream`` prints (numbers
    rounded to 6 decimals, as ``predict`` writes them).
    """

    conversation_id: str
    utterance_id: str
    prediction: str | float
    probabilities: dict[str, float] | None
    present: dict[str, bool]

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "conversation_id": self.conversation_id,
            "utterance_id": self.utterance_id,
        }
        if self.probabilities is not None:
            record["prediction"] = self.prediction
            record["probabilities"] = {k: round(float(p), 6) for k, p in self.probabilities.items()}
        else:
            record["prediction"] = round(float(self.prediction), 6)
        record["present"] = dict(self.present)
        return record


UTTERANCE_KEYS = {"conversation_id", "features", "speaker", "utterance_id"}


@dataclass
class _Conversation:
    state: Any
    pushed: int = 0


@dataclass
class _Checked:
    """One validated utterance: ids, features as model-dtype tensors, presence flags."""

    conversation_id: str
    utterance_id: str | None
    tensors: dict[str, torch.Tensor]
    present: dict[str, bool]


class StreamingPredictor:
    """Predicts each utterance of many live conversations as it arrives.

    ``student``: an eval-ready model taking ``features, utterance_mask, present`` (a run's
    student; see ``from_run``); ``task``: "classification" or "regression"; ``class_names``: the
    classes in index order (default "0", "1", ...; ignored for regression).
    """

    def __init__(
        self,
        student: nn.Module,
        *,
        task: str,
        class_names: Sequence[str] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        self.device = torch.device(device)
        self.student = student.to(self.device).eval()
        self.task = task
        dims = getattr(student, "modality_dims", None)
        if not isinstance(dims, Mapping) or not dims:
            raise ValueError(f"{type(student).__name__} does not state its modality_dims")
        order = tuple(getattr(student, "modalities", tuple(dims)))
        self._dims = {name: int(dims[name]) for name in order}
        self.dtype = next(student.parameters()).dtype
        if task == "classification":
            width = _out_width(student)
            names = list(class_names or [str(k) for k in range(width)])
            if width is not None and len(names) != width:
                raise ValueError(f"class_names has {len(names)} names, the model {width} classes")
            self._classes: list[str] | None = names
        else:
            self._classes = None
        self.fallback_reason = unsupported_reason(student)
        self.incremental = self.fallback_reason is None
        self._engine = (
            IncrementalITEACH(student) if self.incremental else PrefixEngine(student, order)
        )
        self._open: dict[str, _Conversation] = {}

    @classmethod
    def from_run(
        cls, run_dir: str | Path, *, device: str = "cpu", checkpoint: str = "best"
    ) -> StreamingPredictor:
        """The selected ("best") or "last" student of a run folder, with the run's classes.

        Like ``iteach-app predict``, this rebuilds the run's data description (modalities,
        widths, class names), so the run's data must be reachable.
        """
        from iteach_app.training.evaluation import load_trained

        config, data, model, target = load_trained(run_dir, device=device, which=checkpoint)
        names = list(config.labels) or list(data.dataset.label_names)
        return cls(model.student, task=data.task, class_names=names or None, device=target)

    # ------------------------------------------------------------------ what it serves
    @property
    def modalities(self) -> dict[str, int]:
        """Modality name -> feature width, in the model's order (the query modality first)."""
        return dict(self._dims)

    @property
    def classes(self) -> list[str] | None:
        """Class names in index order; None for regression."""
        return None if self._classes is None else list(self._classes)

    def active(self) -> list[str]:
        """The open conversations, in the order they were opened."""
        return list(self._open)

    def state_nbytes(self, conversation_id: str) -> int:
        """Bytes held by one open conversation's state (caches, tails)."""
        return int(self._conversation(conversation_id).state.nbytes)

    # ------------------------------------------------------------------ streaming
    def push(
        self,
        conversation_id: str,
        features: Mapping[str, FeatureValue],
        *,
        speaker: str | None = None,
        utterance_id: str | None = None,
    ) -> Prediction:
        """Add the next utterance of ``conversation_id`` (opened on its first push) and predict it.

        ``features``: modality -> vector of the run's width, or None (absent); a modality left
        out is absent too, and at least one must be given. ``speaker`` is accepted for the
        record (ITEACH-Net does not read speakers). ``utterance_id`` defaults to the utterance's
        0-based position. Bad input raises ValueError naming the field; the conversation's
        state is then unchanged.
        """
        return self._advance([self._check(conversation_id, features, speaker, utterance_id)])[0]

    def push_many(self, utterances: Sequence[Mapping[str, Any]]) -> list[Prediction]:
        """The next utterance of several different conversations, predicted in one batched step.

        Each item is a mapping with the keys of ``push`` (``conversation_id``, ``features``,
        optional ``speaker`` and ``utterance_id``), the shape of a ``predict --stream`` line; a
        conversation may appear once per call. Every item is checked before any state changes:
        a bad one raises ValueError naming its index and field. Results, in order, equal those of
        ``push`` item by item; the batch amortises the per-layer work over the conversations.
        """
        checked, seen = [], set()
        for index, item in enumerate(utterances):
            try:
                if not isinstance(item, Mapping):
                    raise ValueError(f"expected a mapping, got {type(item).__name__}")
                unknown = sorted(set(item) - UTTERANCE_KEYS)
                if unknown:
                    raise ValueError(f"unknown key {unknown[0]!r} ({', '.join(UTTERANCE_KEYS)})")
                entry = self._check(
                    item.get("conversation_id"),
                    item.get("features"),
                    item.get("speaker"),
                    item.get("utterance_id"),
                )
                if entry.conversation_id in seen:
                    raise ValueError(
                        f"conversation_id {entry.conversation_id!r} appears twice in one push_many"
                    )
            except ValueError as err:
                raise ValueError(f"utterances[{index}]: {err}") from None
            seen.add(entry.conversation_id)
            checked.append(entry)
        return self._advance(checked) if checked else []

    def end(self, conversation_id: str) -> None:
        """Close a conversation and free its state."""
        self._conversation(conversation_id)
        del self._open[conversation_id]

    # ------------------------------------------------------------------ helpers
    def _check(
        self, conversation_id: Any, features: Any, speaker: Any, utterance_id: Any
    ) -> _Checked:
        """One utterance's arguments, validated (ValueError naming the field otherwise)."""
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ValueError(f"conversation_id must be a non-empty string, got {conversation_id!r}")
        if speaker is not None and not isinstance(speaker, str):
            raise ValueError(f"speaker must be a string or None, got {type(speaker).__name__}")
        if utterance_id is not None and not isinstance(utterance_id, str):
            raise ValueError(
                f"utterance_id must be a string or None, got {type(utterance_id).__name__}"
            )
        tensors, present = self._check_features(features)
        return _Checked(conversation_id, utterance_id, tensors, present)

    def _advance(self, checked: Sequence[_Checked]) -> list[Prediction]:
        """One step of the engine for distinct conversations; opens the new ones."""
        conversations = [
            self._open.get(c.conversation_id) or _Conversation(self._engine.new_state())
            for c in checked
        ]
        features = {m: torch.stack([c.tensors[m] for c in checked]) for m in self._dims}
        present = torch.tensor([[c.present[m] for m in self._dims] for c in checked])
        out = self._engine.step_many([c.state for c in conversations], features, present)
        predictions = self._predictions(checked, conversations, out)
        for entry, conversation in zip(checked, conversations, strict=True):
            conversation.pushed += 1
            self._open[entry.conversation_id] = conversation
        return predictions

    def _conversation(self, conversation_id: str) -> _Conversation:
        if conversation_id not in self._open:
            raise ValueError(
                f"conversation_id {conversation_id!r} is not open ({len(self._open)} open)"
            )
        return self._open[conversation_id]

    def _check_features(
        self, features: Mapping[str, FeatureValue]
    ) -> tuple[dict[str, torch.Tensor], dict[str, bool]]:
        """Validated features as model-dtype tensors (zeros where absent) and presence flags."""
        if not isinstance(features, Mapping):
            raise ValueError(
                "features must be a mapping modality -> vector or None, got "
                f"{type(features).__name__}"
            )
        unknown = [name for name in features if name not in self._dims]
        if unknown:
            raise ValueError(
                f"features: unknown modality {unknown[0]!r} (the run's modalities: "
                f"{', '.join(self._dims)})"
            )
        tensors, present = {}, {}
        for name, dim in self._dims.items():
            value = features.get(name)
            present[name] = value is not None
            if value is None:
                tensors[name] = torch.zeros(dim, dtype=self.dtype, device=self.device)
                continue
            tensors[name] = self._vector(name, value, dim)
        if not any(present.values()):
            raise ValueError(
                f"features: every modality is absent; give at least one of {', '.join(self._dims)}"
            )
        return tensors, present

    def _vector(self, name: str, value: Any, dim: int) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            array = value.detach().cpu().to(torch.float64).numpy()
        else:
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"features[{name!r}] is not a vector of numbers ({type(value).__name__})"
                ) from None
        if array.shape != (dim,):
            raise ValueError(
                f"features[{name!r}] has shape {array.shape}, expected ({dim},): the run's "
                f"{name} features are {dim}-d"
            )
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            raise ValueError(f"features[{name!r}] holds NaN or inf (first at index {bad[0]})")
        return torch.as_tensor(array, device=self.device).to(self.dtype)

    def _predictions(
        self,
        checked: Sequence[_Checked],
        conversations: Sequence[_Conversation],
        out: torch.Tensor,
    ) -> list[Prediction]:
        """Predictions from the step's outputs (B, out_dim), probabilities in float32 (as
        ``predict``)."""
        out = out.detach().float().cpu()
        ids = [
            (c.conversation_id, c.utterance_id if c.utterance_id is not None else str(v.pushed))
            for c, v in zip(checked, conversations, strict=True)
        ]
        if self._classes is None:
            values = out.reshape(len(checked), -1)[:, 0].tolist()
            return [
                Prediction(cid, uid, value, None, c.present)
                for (cid, uid), value, c in zip(ids, values, checked, strict=True)
            ]
        probs = torch.softmax(out, dim=-1)
        best = probs.argmax(-1).tolist()
        return [
            Prediction(
                cid,
                uid,
                self._classes[k],
                dict(zip(self._classes, row, strict=True)),
                c.present,
            )
            for (cid, uid), k, row, c in zip(ids, best, probs.tolist(), checked, strict=True)
        ]


def _out_width(model: nn.Module) -> int | None:
    """The number of outputs of a model's last linear layer (its head), if it has one."""
    head = getattr(model, "head", None)
    if isinstance(head, nn.Linear):
        return head.out_features
    width = getattr(model, "out_dim", None)
    return width if isinstance(width, int) else None
