"""`TrainConfig`: every setting of one run, once. Each field's type, default, help, group, short
flag and bounds live here alone; the TOML reader, the CLI options and the checks read them.

A field's metadata: ``help`` (CLI help), ``group`` (data / model / optim / eval / run: a CLI help
panel), optional ``flag`` (a short flag such as ``-b``), bounds ``gt`` / ``ge`` / ``lt`` / ``le``,
``odd``, ``hashed=False`` (does not change what a run computes: left out of the config hash) and
``cli=False`` (set by a hand-written run flag instead, e.g. --fold / --seed that take lists) and
``neutral`` (the value that computes what runs did before the field existed: left out of the
hash there, so older run folders keep their hash), ``choices`` (a function giving the allowed
values, for a vocabulary that lives elsewhere: the model names of config/model_catalog.py) and
``model_setting=True`` (passed by its own name to the model's factory, training/framework.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, fields
from pathlib import PurePath
from typing import Any, Literal, get_args

from iteach_app.config.model_catalog import model_choices

# The schema is read by every command's --help, so it imports no torch-based package: these
# restate the packages' own constants (tests/iteach/commands/test_cli_startup.py checks they agree).
EcceKind = Literal["full", "global", "none"]
EcceInput = Literal["projected", "features"]
PAPER_LAYER_WEIGHTS: tuple[float, ...] = (0.5, 0.1, 0.05)  # its_distill.PAPER_LAYER_WEIGHTS
DEFAULT_RATES: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)  # missing_modality's

Framework = Literal["its", "ts", "pre"]
RealDataset = Literal["IEMOCAPFour", "IEMOCAPSix", "CMUMOSI", "CMUMOSEI"]
SyntheticDataset = Literal["iemocap4", "iemocap6", "mosi"]
REAL_DATASETS: tuple[str, ...] = get_args(RealDataset)
SYNTHETIC_DATASETS: tuple[str, ...] = get_args(SyntheticDataset)
LRScheduleKind = Literal["constant", "cosine"]
ClassWeighting = Literal["none", "inverse"]
Preset = Literal["default", "paper"]
DistillDistance = Literal["mse", "normalized_mse", "cosine"]
BY_PRESET = " (default: from --preset)"


MAX_SEED = 2**63 - 1  # torch and numpy take seeds as 64-bit integers


def meta(help: str, group: str, **more: Any) -> dict[str, Any]:
    """A field's metadata: CLI help, group, and any of flag / bounds / hashed / cli."""
    return {"help": help, "group": group, **more}


@dataclass
class TrainConfig:
    """All settings of one training run. Model defaults are the paper's (ITEACH-Net on IEMOCAP);
    a field left None takes its value from ``preset`` at validation (config/presets.py)."""

    # data: a GCNet-layout folder (data + dataset + features) or a built-in synthetic set
    data: str | None = field(
        default=None, metadata=meta("GCNet-layout data folder, e.g. ../shared/data/IEMOCAP", "data")
    )
    dataset: RealDataset | None = field(
        default=None, metadata=meta("dataset inside --data", "data")
    )
    features: dict[str, str] = field(
        default_factory=dict,
        metadata=meta(
            "modality=folder pairs, e.g. text=minilm-384-UTT,audio=covarep73-UTT", "data"
        ),
    )
    synthetic: SyntheticDataset | None = field(
        default=None, metadata=meta("built-in synthetic data instead", "data")
    )
    synthetic_dialogues: int | None = field(
        default=None, metadata=meta("conversations in the synthetic set", "data", gt=0)
    )
    synthetic_dims: dict[str, int] = field(
        default_factory=dict, metadata=meta("synthetic widths, e.g. text=64,audio=32", "data")
    )
    synthetic_max_length: int | None = field(
        default=None, metadata=meta("longest synthetic conversation", "data", gt=0)
    )
    fold: int | None = field(
        default=None, metadata=meta("IEMOCAP test session 1..5", "data", ge=1, le=5, cli=False)
    )
    val_fraction: float = field(
        default=0.1, metadata=meta("share of train carved off for validation", "data", ge=0, lt=1)
    )
    cache_dir: str | None = field(
        default=None, metadata=meta("folder for the feature cache", "data")
    )
    conversations: str | None = field(
        default=None,
        metadata=meta(
            "your own utterance table (.csv / .jsonl) instead of --data; --features then maps "
            "modality=PATH (an .npz or a folder of .npy), e.g. text=text.npz",
            "data",
        ),
    )
    labels: list[str] = field(
        default_factory=list,
        metadata=meta(
            "class names in index order for --conversations, e.g. neutral,happy,sad "
            "(default: sorted; recorded in the run)",
            "data",
        ),
    )
    standardize: Literal["standard", "none"] = field(
        default="standard",
        metadata=meta(
            "per-modality feature standardisation fit on the training split (none: raw)", "data"
        ),
    )
    # framework and models
    framework: Framework = field(
        default="its", metadata=meta("its, ts (ablation) or pre (no teacher)", "model")
    )
    teacher: str | None = field(
        default=None,
        metadata=meta("teacher model (attention or nas); default: the framework's preset", "model"),
    )
    student: str | None = field(
        default=None,
        metadata=meta("student model (attention or nas); default: the framework's preset", "model"),
    )
    teacher_layers: int | None = field(
        default=None, metadata=meta("default: ITS 3, TS 4", "model", gt=0)
    )
    student_layers: int | None = field(
        default=None, metadata=meta("default: ITS 4, TS 3, PRE 4", "model", gt=0)
    )
    resolved_by_preset: list[str] = field(
        default_factory=list,
        metadata=meta(
            "teacher / student settings that the framework's preset filled in (recorded so an "
            "old run is not re-interpreted by a changed preset; hashed as not given)",
            "model",
            hashed=False,
            cli=False,
        ),
    )
    hidden_dim: int = field(
        default=128, metadata=meta("hidden size", "model", model_setting=True, gt=0)
    )
    num_heads: int = field(
        default=8, metadata=meta("attention heads", "model", model_setting=True, gt=0)
    )
    mlp_ratio: float = field(
        default=4.0,
        metadata=meta("block MLP width / hidden size", "model", model_setting=True, gt=0),
    )
    window: int = field(
        default=7,
        metadata=meta("ECCE local window (odd)", "model", model_setting=True, gt=0, odd=True),
    )
    max_distance: int = field(
        default=30,
        metadata=meta("ECCE longest utterance distance", "model", model_setting=True, gt=0),
    )
    ecce: EcceKind = field(
        default="full",
        metadata=meta("ECCE bias: full, global or none", "model", model_setting=True),
    )
    ecce_input: EcceInput = field(
        default="projected",
        metadata=meta(
            "what ECCE reads: projected (the hidden-size input states) or features (the "
            "standardised input features, as the paper's Eqs. 1-4)",
            "model",
            model_setting=True,
            neutral="projected",
        ),
    )
    ecce_per_layer: bool = field(
        default=False,
        metadata=meta(
            "an ECCE of its own in every encoder layer, on that layer's input (default: one "
            "bias shared by every layer, as the paper)",
            "model",
            model_setting=True,
            neutral=False,
        ),
    )
    dropout: float | None = field(
        default=None, metadata=meta("dropout" + BY_PRESET, "model", model_setting=True, ge=0, lt=1)
    )
    layer_weights: list[float] = field(
        default_factory=lambda: list(PAPER_LAYER_WEIGHTS),
        metadata=meta("distillation weights of the last 3 layers", "model", ge=0),
    )
    distill_distance: DistillDistance | None = field(
        default=None,
        metadata=meta(
            "distance between student and teacher hidden states: mse (the paper's raw squared "
            "distance), normalized_mse (each state standardised first) or cosine" + BY_PRESET,
            "model",
            neutral="mse",
        ),
    )
    distill_projector: Literal["none", "linear"] = field(
        default="none",
        metadata=meta(
            "none (the student's hidden states must equal the teacher's) or linear (a learned "
            "map from the student's states to the teacher's, as FitNets)",
            "model",
            neutral="none",
        ),
    )
    teacher_epochs: int | None = field(
        default=None,
        metadata=meta(
            "epochs the teacher trains (at most epochs - 1); after them it is frozen and the "
            "student distils from fixed targets; 0: it trains throughout, as the paper" + BY_PRESET,
            "model",
            ge=0,
            neutral=0,
        ),
    )
    distill_on: Literal["missing", "all"] = field(
        default="missing",
        metadata=meta(
            "utterances distilled: missing (those where the student lost a modality, the "
            "paper's) or all",
            "model",
            neutral="missing",
        ),
    )
    model: str = field(
        default="iteach",
        metadata=meta(
            "iteach (the framework's teacher/student) or a baseline trained alone on masked "
            "inputs (paper section 4.5): a model-registry name",
            "model",
            choices=model_choices,
        ),
    )
    model_options: dict[str, Any] = field(
        default_factory=dict,
        metadata=meta(
            "settings of the model's own constructor, by its names, e.g. hidden=100,dropout=0.4 "
            "for gcnet (TOML: a [model_options] table); a name it does not take is an error",
            "model",
            neutral={},
        ),
    )
    mmin_pretrain_epochs: int = field(
        default=10,
        metadata=meta(
            "MMIN: first epochs that train its complete-data teacher only (the original trains "
            "it as a separate full run)",
            "model",
            ge=0,
        ),
    )
    gated_fusion: bool = field(
        default=True,
        metadata=meta(
            "zero-initialised tanh gates on the cross-modal fusion (was: fusion_gates tanh|none)",
            "model",
            model_setting=True,
        ),
    )
    input_norm: bool = field(
        default=False,
        metadata=meta(
            "LayerNorm after each input projection (was: input_norm layernorm|none)",
            "model",
            model_setting=True,
        ),
    )
    causal: bool = field(
        default=False,
        metadata=meta(
            "online model: each utterance sees only itself and earlier ones (ECCE spans, "
            "self-attention, pooling and MLP windows, fusion), so it can run as the conversation "
            "happens (StreamingPredictor, predict --stream); gcnet cannot be causal",
            "model",
            model_setting=True,
            neutral=False,
        ),
    )
    activation_checkpointing: bool = field(
        default=False,
        metadata=meta(
            "recompute each encoder layer in the backward pass instead of keeping its "
            "activations: less memory on long conversations, more time (same numbers)",
            "model",
            model_setting=True,
            neutral=False,
        ),
    )
    # optimisation
    epochs: int | None = field(
        default=None, metadata=meta("most epochs" + BY_PRESET, "optim", gt=0)
    )
    batch_size: int | None = field(
        default=None,
        metadata=meta("conversations per batch" + BY_PRESET, "optim", gt=0, flag="-b"),
    )
    lr: float | None = field(
        default=None, metadata=meta("AdamW learning rate" + BY_PRESET, "optim", gt=0)
    )
    router_lr: float | None = field(
        default=None, metadata=meta("router learning rate" + BY_PRESET, "optim", gt=0)
    )
    weight_decay: float | None = field(
        default=None, metadata=meta("AdamW weight decay" + BY_PRESET, "optim", ge=0)
    )
    grad_clip: float = field(default=0.0, metadata=meta("max grad norm; 0 = off", "optim", ge=0))
    mask_schedule: str = field(
        default="random", metadata=meta("random, progressive or constant:R", "optim")
    )
    keep_at_least: int | None = field(
        default=None,
        metadata=meta(
            "modalities always kept per utterance (default: 1, or 0 with a single modality)",
            "optim",
            ge=0,
        ),
    )
    regression_loss: Literal["mse", "mae"] = field(
        default="mse", metadata=meta("MOSI/MOSEI loss", "optim")
    )
    seed: int = field(
        default=0,
        metadata=meta(
            "seed of data split, models and masks", "optim", ge=0, le=MAX_SEED, cli=False
        ),
    )
    lr_schedule: LRScheduleKind | None = field(
        default=None,
        metadata=meta(
            "constant or cosine decay per optimiser step" + BY_PRESET, "optim", neutral="constant"
        ),
    )
    warmup_fraction: float | None = field(
        default=None,
        metadata=meta(
            "share of all optimiser steps with linear warm-up" + BY_PRESET,
            "optim",
            ge=0,
            lt=1,
            neutral=0.0,
        ),
    )
    label_smoothing: float | None = field(
        default=None,
        metadata=meta(
            "label smoothing of the cross-entropy" + BY_PRESET, "optim", ge=0, lt=1, neutral=0.0
        ),
    )
    class_weights: ClassWeighting | None = field(
        default=None,
        metadata=meta(
            "none, or inverse class frequency of the training split" + BY_PRESET,
            "optim",
            neutral="none",
        ),
    )
    patience: int | None = field(
        default=None,
        metadata=meta(
            "stop after N epochs without a better validation score; 0 = never" + BY_PRESET,
            "optim",
            ge=0,
            neutral=0,
        ),
    )
    preset: Preset = field(
        default="default",
        metadata=meta(
            "recipe filling the settings not given: default (measured) or paper",
            "optim",
            hashed=False,
        ),
    )
    max_utterances_per_batch: int | None = field(
        default=None,
        metadata=meta(
            "budget of padded utterances per batch (batch size x its longest conversation); "
            "a longer conversation trains alone; 0: no budget" + BY_PRESET,
            "optim",
            ge=0,
            neutral=0,
        ),
    )
    bucket_forward: bool = field(
        default=True,
        metadata=meta(
            "run each batch's conversations in a few length buckets, each padded to its own "
            "longest (same batches and losses, less padded work; ITEACH-Net models only)",
            "optim",
            model_setting=True,
            hashed=False,
        ),
    )
    length_aware: bool = field(
        default=False,
        metadata=meta(
            "batch conversations of similar length together (less padding)", "optim", neutral=False
        ),
    )
    device: str = field(
        default="auto", metadata=meta("cpu, cuda, cuda:N or auto", "run", hashed=False)
    )
    threads: int | None = field(
        default=None, metadata=meta("torch CPU threads", "run", gt=0, hashed=False)
    )
    audit: bool = field(
        default=True,
        metadata=meta(
            "print the modality audit (a linear probe per modality) before training; cached "
            "per data, so only the first run on a dataset pays for it",
            "run",
            hashed=False,
        ),
    )
    report_to: Literal["none", "tensorboard", "mlflow", "wandb"] = field(
        default="none",
        metadata=meta(
            "experiment tracker that receives per-step losses, learning rate and gradient norm, "
            "per-epoch validation scores and timing, and the config (needs its extra)",
            "run",
            hashed=False,
        ),
    )
    checkpoint_every: int = field(
        default=25, metadata=meta("resumable checkpoint every N steps (0: epoch ends)", "run", ge=0)
    )
    precision: Literal["32", "bf16"] = field(
        default="32",
        metadata=meta("float32, or bf16 autocast (CPU or GPU)", "run", neutral="32"),
    )
    # selection and evaluation
    select_on: Literal["val", "test"] = field(
        default="val", metadata=meta("val, or test (the paper's IEMOCAP protocol)", "eval")
    )
    eval_rates: list[float] = field(
        default_factory=lambda: list(DEFAULT_RATES),
        metadata=meta("UME missing rates", "eval", ge=0, lt=1),
    )
    eval_seed: int = field(
        default=0, metadata=meta("seed of the fixed evaluation masks", "eval", ge=0, le=MAX_SEED)
    )

    # ------------------------------------------------------------------ derived
    @property
    def selected_on_test(self) -> bool:
        """True for the paper's IEMOCAP protocol (model selection on the test split)."""
        return self.select_on == "test"

    @property
    def data_source(self) -> str:
        """Which data source builds the dataset: "synthetic", "conversations" (your own table)
        or "gcnet" (a release folder)."""
        if self.synthetic is not None:
            return "synthetic"
        return "conversations" if self.conversations is not None else "gcnet"

    @property
    def dataset_label(self) -> str:
        """Short name of the data: the GCNet dataset name, ``synthetic-<name>`` or the table's
        file stem."""
        if self.conversations is not None:
            return PurePath(self.conversations).stem
        return f"synthetic-{self.synthetic}" if self.synthetic else str(self.dataset)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of every field."""
        return dataclasses.asdict(self)

    def config_hash(self) -> str:
        """SHA-256 (hex, 16 chars) of the settings that determine what a run computes.

        Hashed as the user gave them: a teacher / student setting filled in from the
        framework's preset (listed in ``resolved_by_preset``) counts as not given, and a renamed
        setting is hashed under its old name and spelling (`HASHED_AS`), so a run folder keeps
        the hash it was written with."""
        values = self.to_dict()
        for name in self.resolved_by_preset:
            values[name] = None
        for name, (old_name, spelling) in HASHED_AS.items():
            values[old_name] = spelling[values.pop(name)]
        payload = {
            k: v
            for k, v in values.items()
            if k not in UNHASHED and not (k in NEUTRAL and v == NEUTRAL[k])
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in fields(TrainConfig)}
FIELD_NAMES = tuple(FIELDS)
UNHASHED = tuple(name for name, f in FIELDS.items() if f.metadata.get("hashed") is False)
NEUTRAL = {name: f.metadata["neutral"] for name, f in FIELDS.items() if "neutral" in f.metadata}
MODEL_SETTINGS = tuple(name for name, f in FIELDS.items() if f.metadata.get("model_setting"))
ROLE_FIELDS = ("teacher", "student", "teacher_layers", "student_layers")
"""The framework settings a preset resolves (recorded in a run's config, see resolved_by_preset)."""

HASHED_AS: dict[str, tuple[str, dict[Any, str]]] = {
    "gated_fusion": ("fusion_gates", {True: "tanh", False: "none"}),
    "input_norm": ("input_norm", {True: "layernorm", False: "none"}),
}
"""Settings renamed to their model constructor's name and type, hashed as their old spelling."""

LEGACY_SETTINGS: dict[str, tuple[str, dict[Any, Any]]] = {
    "fusion_gates": ("gated_fusion", {"tanh": True, "none": False}),
}
"""Old setting names read from config files and overrides: old -> (new name, old value -> new)."""

LEGACY_VALUES: dict[tuple[str, Any], Any] = {
    ("input_norm", "layernorm"): True,
    ("input_norm", "none"): False,
}
"""Old spellings of a setting's value (the setting kept its name, its type became bool)."""
