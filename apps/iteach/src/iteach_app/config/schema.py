"""`TrainConfig`: every setting of one run, once. Each field's type, default, help, group, short
flag and bounds live here alone; the TOML reader, the CLI options and the checks read them.

A field's metadata: ``help`` (CLI help), ``group`` (data / model / optim / eval / run: a CLI help
panel), optional ``flag`` (a short flag such as ``-b``), bounds ``gt`` / ``ge`` / ``lt`` / ``le``,
``odd``, ``hashed=False`` (does not change what a run computes: left out of the config hash) and
``cli=False`` (set by a hand-written run flag instead, e.g. --fold / --seed that take lists).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from iteach_app.model.iteach import EcceKind
from its_distill import PAPER_LAYER_WEIGHTS
from missing_modality import DEFAULT_RATES

Framework = Literal["its", "ts", "pre"]
RealDataset = Literal["IEMOCAPFour", "IEMOCAPSix", "CMUMOSI", "CMUMOSEI"]
SyntheticDataset = Literal["iemocap4", "iemocap6", "mosi"]
REAL_DATASETS: tuple[str, ...] = get_args(RealDataset)
SYNTHETIC_DATASETS: tuple[str, ...] = get_args(SyntheticDataset)


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message names it (and the file)."""


def setting(default: Any, help: str, group: str, **meta: Any) -> Any:
    """A dataclass field with its CLI help, group and bounds (lists and dicts get a factory)."""
    metadata = {"help": help, "group": group, **meta}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """All settings of one training run. Defaults are the paper's (ITEACH-Net on IEMOCAP)."""

    # data: a GCNet-layout folder (data + dataset + features) or a built-in synthetic set
    data: str | None = setting(None, "GCNet-layout data folder, e.g. ../shared/data/IEMOCAP", "data")
    dataset: RealDataset | None = setting(None, "dataset inside --data", "data")
    features: dict[str, str] = setting(
        {}, "modality=folder pairs, e.g. text=minilm-384-UTT,audio=covarep73-UTT", "data"
    )
    synthetic: SyntheticDataset | None = setting(None, "built-in synthetic data instead", "data")
    synthetic_dialogues: int | None = setting(None, "conversations in the synthetic set", "data", gt=0)
    synthetic_dims: dict[str, int] = setting({}, "synthetic widths, e.g. text=64,audio=32", "data")
    synthetic_max_length: int | None = setting(None, "longest synthetic conversation", "data", gt=0)
    fold: int | None = setting(None, "IEMOCAP test session 1..5", "data", ge=1, le=5, cli=False)
    val_fraction: float = setting(0.1, "share of train carved off for validation", "data", ge=0, lt=1)
    cache_dir: str | None = setting(None, "folder for the feature cache", "data")
    # framework and models
    framework: Framework = setting("its", "its, ts (ablation) or pre (no teacher)", "model")
    teacher: str | None = setting(
        None, "teacher model (attention or nas); default: the framework's preset", "model"
    )
    student: str | None = setting(
        None, "student model (attention or nas); default: the framework's preset", "model"
    )
    teacher_layers: int | None = setting(None, "default: ITS 3, TS 4", "model", gt=0)
    student_layers: int | None = setting(None, "default: ITS 4, TS 3, PRE 4", "model", gt=0)
    hidden_dim: int = setting(128, "hidden size", "model", gt=0)
    num_heads: int = setting(8, "attention heads", "model", gt=0)
    mlp_ratio: float = setting(4.0, "block MLP width / hidden size", "model", gt=0)
    window: int = setting(7, "ECCE local window (odd)", "model", gt=0, odd=True)
    max_distance: int = setting(30, "ECCE longest utterance distance", "model", gt=0)
    ecce: EcceKind = setting("full", "ECCE bias: full, global or none", "model")
    dropout: float = setting(0.1, "dropout", "model", ge=0, lt=1)
    layer_weights: list[float] = setting(
        list(PAPER_LAYER_WEIGHTS), "distillation weights of the last 3 layers", "model", ge=0
    )
    # optimisation
    epochs: int = setting(100, "epochs", "optim", gt=0)
    batch_size: int = setting(32, "conversations per batch", "optim", gt=0, flag="-b")
    lr: float = setting(5e-4, "AdamW learning rate", "optim", gt=0)
    router_lr: float = setting(5e-3, "router learning rate", "optim", gt=0)
    weight_decay: float = setting(0.01, "AdamW weight decay", "optim", ge=0)
    grad_clip: float = setting(0.0, "max grad norm; 0 = off", "optim", ge=0)
    mask_schedule: str = setting("random", "random, progressive or constant:R", "optim")
    keep_at_least: int = setting(1, "modalities always kept per utterance", "optim", ge=0)
    regression_loss: Literal["mse", "mae"] = setting("mse", "MOSI/MOSEI loss", "optim")
    seed: int = setting(0, "seed of data split, models and masks", "optim", ge=0, cli=False)
    device: str = setting("auto", "cpu, cuda, cuda:N or auto", "run", hashed=False)
    threads: int | None = setting(None, "torch CPU threads", "run", gt=0, hashed=False)
    checkpoint_every: int = setting(25, "resumable checkpoint every N steps (0: epoch ends)", "run", ge=0)
    # selection and evaluation
    select_on: Literal["val", "test"] = setting(
        "val", "val, or test (the paper's IEMOCAP protocol)", "eval"
    )
    eval_rates: list[float] = setting(list(DEFAULT_RATES), "UME missing rates", "eval", ge=0, lt=1)
    eval_seed: int = setting(0, "seed of the fixed evaluation masks", "eval", ge=0)

    # ------------------------------------------------------------------ derived
    @property
    def selected_on_test(self) -> bool:
        """True for the paper's IEMOCAP protocol (model selection on the test split)."""
        return self.select_on == "test"

    @property
    def data_source(self) -> str:
        """Which data source builds the dataset: "synthetic" or "gcnet" (a release folder)."""
        return "synthetic" if self.synthetic is not None else "gcnet"

    @property
    def dataset_label(self) -> str:
        """Short name of the data: the GCNet dataset name or ``synthetic-<name>``."""
        return f"synthetic-{self.synthetic}" if self.synthetic else str(self.dataset)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of every field."""
        return dataclasses.asdict(self)

    def config_hash(self) -> str:
        """SHA-256 (hex, 16 chars) of the settings that determine what a run computes."""
        payload = {k: v for k, v in self.to_dict().items() if k not in UNHASHED}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def validate(self) -> TrainConfig:
        """Check every setting; raises ConfigError naming the first bad one. Returns self."""
        from iteach_app.config.validate import validate

        validate(self)
        return self


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in fields(TrainConfig)}
FIELD_NAMES = tuple(FIELDS)
UNHASHED = tuple(name for name, f in FIELDS.items() if f.metadata.get("hashed") is False)
