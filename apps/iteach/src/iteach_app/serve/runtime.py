"""A run's student behind one interface for the service: the torch model, or its ONNX export run
by onnxruntime. Both take one conversation's checked utterances and give predict's records."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iteach_app import __version__
from iteach_app.export.onnx import METADATA_KEY, MIN_LENGTH
from iteach_app.prediction import Predictions
from iteach_app.serve.limits import Utterance


@dataclass(frozen=True)
class ModelInfo:
    """What ``GET /v1/model`` reports: task, class names (empty for regression), modalities in
    the model's order with their dims, the run's config hash and folder name, versions."""

    task: str
    classes: list[str]
    modalities: dict[str, int]
    config_hash: str
    run: str
    version: str = __version__
    runtime: str = "torch"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``modalities`` as a list of {name, dim} to keep the order."""
        out = asdict(self)
        out["modalities"] = [{"name": m, "dim": d} for m, d in self.modalities.items()]
        return out


def conversation_inputs(
    utterances: Sequence[Utterance], modalities: dict[str, int]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Checked utterances -> features {m: (L, D_m) float32, zeros where absent} and present
    (L, M) bool in the model's modality order."""
    length = len(utterances)
    features = {m: np.zeros((length, d), dtype=np.float32) for m, d in modalities.items()}
    present = np.zeros((length, len(modalities)), dtype=bool)
    for row, utterance in enumerate(utterances):
        for k, m in enumerate(modalities):
            if m in utterance.features:
                features[m][row] = utterance.features[m]
                present[row, k] = True
    return features, present


class Runtime:
    """Base of the two runtimes: ``forward`` (one conversation's raw outputs) is theirs,
    ``predict`` (records) is shared so both answer in predict's exact format."""

    info: ModelInfo
    streaming = "prefix re-run: the whole-conversation graph is run on each prefix"

    def forward(self, features: dict[str, np.ndarray], present: np.ndarray) -> np.ndarray:
        """features {m: (L, D_m)}, present (L, M) -> (L, C) logits or (L, 1) values."""
        raise NotImplementedError

    def predict(self, utterances: Sequence[Utterance]) -> list[dict[str, Any]]:
        """One conversation's utterances -> one record per utterance (predict's JSONL fields)."""
        features, present = conversation_inputs(utterances, self.info.modalities)
        out = torch.from_numpy(np.ascontiguousarray(self.forward(features, present))).float()
        result = Predictions(self.info.task, list(self.info.classes), tuple(self.info.modalities))
        result.conversation_ids = [u.conversation_id for u in utterances]
        result.utterance_ids = [u.utterance_id for u in utterances]
        if self.info.task == "classification":
            probabilities = torch.softmax(out, dim=-1)
            result.probabilities = probabilities.numpy()
            result.scores = probabilities.argmax(dim=-1).numpy()
        else:
            result.scores = out.squeeze(-1).numpy()
        result.present = {m: present[:, k] for k, m in enumerate(self.info.modalities)}
        return result.records()


class TorchRuntime(Runtime):
    """The run's selected (best) student in torch, eval mode, no autograd; ``predictor`` (a
    StreamingPredictor over the same student, guarded by ``predictor_lock``) steps the
    WebSocket conversations: incrementally for a causal run, else on each prefix."""

    def __init__(self, run_dir: str | Path, *, device: str = "cpu") -> None:
        from iteach_app.training.evaluation import load_trained

        config, data, model, target = load_trained(run_dir, device=device)
        self.student = model.student.eval()
        self.device = target
        modalities = tuple(getattr(self.student, "modalities", tuple(data.modality_dims)))
        self.info = ModelInfo(
            task=data.task,
            classes=list(config.labels) or list(data.dataset.label_names),
            modalities={m: int(data.modality_dims[m]) for m in modalities},
            config_hash=config.config_hash(),
            run=Path(run_dir).resolve().name,
        )
        from iteach_app.streaming import StreamingPredictor

        self.predictor = StreamingPredictor(
            self.student, task=self.info.task, class_names=self.info.classes or None, device=target
        )
        self.predictor_lock = threading.Lock()

    @property
    def streaming(self) -> str:
        """How the stream predicts: incrementally, or by re-running each prefix (and why)."""
        if self.predictor.incremental:
            return "incremental (causal run)"
        return f"prefix re-run: {self.predictor.fallback_reason}"

    def forward(self, features: dict[str, np.ndarray], present: np.ndarray) -> np.ndarray:
        length = present.shape[0]
        with torch.no_grad():
            out = self.student(
                features={
                    m: torch.from_numpy(x)[None].to(self.device) for m, x in features.items()
                },
                utterance_mask=torch.ones(1, length, dtype=torch.bool, device=self.device),
                present=torch.from_numpy(present)[None].to(self.device),
            )
        return out[0].float().cpu().numpy()


class OnnxRuntime(Runtime):
    """The student exported by ``iteach-app export`` run by onnxruntime on the CPU; the model's
    description travels in the file's metadata, so the file alone serves."""

    def __init__(self, path: str | Path, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in meta:
            raise ValueError(f"{path}: not an ONNX file written by `iteach-app export`")
        described = json.loads(meta[METADATA_KEY])
        described["modalities"] = {m["name"]: int(m["dim"]) for m in described["modalities"]}
        described["runtime"] = "onnx"
        self.info = ModelInfo(**described)

    def forward(self, features: dict[str, np.ndarray], present: np.ndarray) -> np.ndarray:
        length = present.shape[0]
        width = max(length, MIN_LENGTH)  # the graph's shortest input; padding is masked out

        def padded(x: np.ndarray) -> np.ndarray:
            out = np.zeros((1, width, *x.shape[1:]), dtype=x.dtype)
            out[0, :length] = x
            return out

        feeds = {f"features.{m}": padded(x) for m, x in features.items()}
        feeds["present"] = padded(present)
        feeds["utterance_mask"] = np.arange(width)[None] < length
        return self.session.run(["logits"], feeds)[0][0, :length]
