"""`RunFolder`: the one place that spells a run's file names and writes or reads them.

A run folder holds config.toml / config.json (the resolved config and its hash), metrics.json /
metrics.csv (one record per epoch), ume.md / .csv / .json / .png (the final UME on test),
checkpoints/last.safetensors (resumable) and checkpoints/best.safetensors (the selected model),
figures/, tracking/ (TensorBoard events or an MLflow database, with --report-to) and, while
a process trains into it, a lock file naming that process.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filelock import SoftFileLock, Timeout

from iteach_app.config import ConfigError, TrainConfig, load_toml, resolve, to_toml
from iteach_app.data_paths import locate_data, relative_paths
from iteach_app.io import atomic_write_text
from iteach_app.training.checkpoint import (
    Checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from missing_modality import UMEResult
from missing_modality.svg import ume_svg

TEST_SUFFIX = "selected-on-TEST"
SELECTION_METRIC = {"classification": "waf", "regression": "binary_waf"}
RELATIVE_DATA_KEY = "data_paths_relative_to_run"


class RunFolderError(ValueError):
    """A run folder cannot be used as asked (busy, not a run, would lose a run); names it."""


def protocol_note(config: TrainConfig) -> str:
    """How the reported model was selected; every output of a run carries this line."""
    if config.selected_on_test:
        return "model selected on TEST (paper protocol)"
    return "model selected on the validation split"


class RunFolder:
    """Paths, lock and files of one run folder at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_toml = self.path / "config.toml"
        self.config_json = self.path / "config.json"
        self.metrics_json = self.path / "metrics.json"
        self.metrics_csv = self.path / "metrics.csv"
        self.ume = {ext: self.path / f"ume.{ext}" for ext in ("md", "csv", "json", "svg")}
        self.last = self.path / "checkpoints" / "last.safetensors"
        self.best = self.path / "checkpoints" / "best.safetensors"
        self.figures = self.path / "figures"
        self.onnx = self.path / "export" / "student.onnx"
        self.tracking = self.path / "tracking"  # a local tracker's files (TensorBoard, MLflow)
        self.mlflow_db = self.tracking / "mlflow.db"
        self.lock_file = self.path / ".iteach-app.lock"
        self._lock: SoftFileLock | None = None

    @property
    def name(self) -> str:
        """The folder's own name (a run's title by default)."""
        return self.path.name

    # ------------------------------------------------------------------ before writing
    def check_can_train(self, config: TrainConfig, *, resume: bool) -> None:
        """Every reason to refuse, checked before anything is written into the folder."""
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"{self.path}: exists and is not a folder; choose another --out")
        if self.last.is_file() and not resume:
            found = self.read_config().config_hash() if self.config_toml.is_file() else None
            if found is not None and found != config.config_hash():
                # Resuming would continue the folder's own settings, not these: name another.
                raise RunFolderError(
                    f"{self.path} already holds a run of other settings (config hash {found}, "
                    f"this run's is {config.config_hash()}); train into another folder: "
                    "--name NAME or --out DIR"
                )
            raise RunFolderError(
                f"{self.path} already holds a training checkpoint; resume it (--resume) or "
                "train into another folder (--name NAME or --out DIR)"
            )
        if not self.last.is_file() and self.ume["json"].is_file():
            raise RunFolderError(
                f"{self.path} holds results ({self.ume['json'].name}) but no checkpoint to resume "
                f"({self.last} is missing); train into another folder"
            )
        if not self.last.is_file() and self.metrics_json.is_file() and not resume:
            raise RunFolderError(
                f"{self.path} holds metrics ({self.metrics_json.name}) of an interrupted run "
                "but no checkpoint yet; resume it (--resume, which starts again from epoch 1) or "
                "train into another folder"
            )
        if self.config_toml.is_file():
            found = self.read_config().config_hash()
            if (resume or self.last.is_file()) and found != config.config_hash():
                raise RunFolderError(
                    f"{self.config_toml}: written for config hash {found}, this run's is "
                    f"{config.config_hash()}; train into another folder"
                )

    def create(self) -> None:
        """Make the folder (and parents), naming it in the error when that is impossible."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunFolderError(
                f"{self.path}: cannot create the run folder ({err.strerror}); choose another --out"
            ) from None
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise RunFolderError(f"{self.path}: not writable; choose another --out")

    # ------------------------------------------------------------------ lock
    def acquire(self) -> None:
        """Take the folder's lock without waiting: filelock's `SoftFileLock`, a marker file
        naming the holder's pid and host, so a lock left by a dead process on this host is
        reclaimed and one held from another host of a shared folder is respected."""
        lock = SoftFileLock(self.lock_file, blocking=False, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise RunFolderError(
                f"{self.path}: another training ({self._holder()}) is writing this run folder; "
                f"wait for it, or delete {self.lock_file.name} if it is gone"
            ) from None
        self._lock = lock

    def release(self) -> None:
        """Drop the lock if this object holds it."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _holder(self) -> str:
        """The holder as "pid N on HOST", read from the lock's marker (its first two lines)."""
        try:
            pid, host = self.lock_file.read_text(encoding="utf-8").splitlines()[:2]
        except (OSError, UnicodeDecodeError, ValueError):
            return "another process"
        return f"pid {pid} on {host}" if pid.isdigit() and host else "another process"

    # ------------------------------------------------------------------ files
    def write_config(self, config: TrainConfig) -> None:
        """config.toml and config.json (with the config hash and, where the run reads files,
        their paths relative to this folder: the fallback of `data_config`)."""
        atomic_write_text(self.config_toml, to_toml(config))
        payload = {"config_hash": config.config_hash(), **config.to_dict()}
        relative = relative_paths(config, self.path)
        if relative:
            payload[RELATIVE_DATA_KEY] = relative
        atomic_write_text(self.config_json, json.dumps(payload, indent=2) + "\n")

    def data_config(self, config: TrainConfig) -> TrainConfig:
        """``config`` with data paths that moved found again beside this folder (the relative
        paths config.json recorded); only for reading data: the run's hash stays the recorded
        config's."""
        try:
            recorded = json.loads(self.config_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return config
        relative = recorded.get(RELATIVE_DATA_KEY) if isinstance(recorded, dict) else None
        return locate_data(config, self.path, relative) if isinstance(relative, dict) else config

    def read_config(self) -> TrainConfig:
        """The config the run was written with (its config.toml)."""
        if not self.config_toml.is_file():
            raise ConfigError(
                f"{self.config_toml}: missing; {self.path} is not an iteach-app run folder"
            )
        values = load_toml(self.config_toml)
        values.setdefault("preset", "paper")  # written before presets: the paper's recipe
        return resolve(values, source=str(self.config_toml))

    def write_metrics(self, payload: Mapping[str, Any], history: list[dict[str, Any]]) -> None:
        """metrics.json (``payload`` plus the epoch records) and metrics.csv (one row an epoch)."""
        text = json.dumps({**payload, "epochs": history}, indent=2) + "\n"
        atomic_write_text(self.metrics_json, text)
        columns: list[str] = []
        for record in history:
            columns += [key for key in record if key not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        atomic_write_text(self.metrics_csv, buffer.getvalue())

    def write_ume(self, result: UMEResult, config: TrainConfig, *, title: str) -> None:
        """ume.md / ume.csv / ume.json / ume.svg, each naming the protocol (the figure is SVG
        written without matplotlib: `iteach-app plot RUN` draws the PNG figures)."""
        note = protocol_note(config)
        atomic_write_text(self.ume["md"], f"# UME: {title}\n\n{note}.\n\n{result.to_markdown()}")
        atomic_write_text(self.ume["csv"], f"# {title}; {note}\n{result.to_csv()}")
        payload = {
            **result.to_dict(),
            "run": title,
            "selected_on": config.select_on,
            "selection_note": note,
            "selection_metric": SELECTION_METRIC[result.task],
            "config_hash": config.config_hash(),
        }
        atomic_write_text(self.ume["json"], json.dumps(payload, indent=2) + "\n")
        atomic_write_text(self.ume["svg"], ume_svg({title: result}, title=note))

    def read_ume(self) -> UMEResult:
        """The final UME result stored in ume.json."""
        path = self.ume["json"]
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found (has the run finished?)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise TypeError(f"a JSON {type(data).__name__}, not an object")
            result = UMEResult.from_dict(data)
            result.average  # noqa: B018 - reads every per-rate row: a bad one fails here
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            ArithmeticError,
            RecursionError,
        ) as err:
            raise RunFolderError(
                f"{path}: not a readable UME result ({type(err).__name__}: "
                f"{' '.join(str(err).split())[:200]})"
            ) from None
        return result

    def read_history(self) -> list[dict[str, Any]]:
        """The per-epoch records of metrics.json (empty where the file is absent)."""
        if not self.metrics_json.is_file():
            return []
        try:
            payload = json.loads(self.metrics_json.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RunFolderError(f"{self.metrics_json}: not valid JSON ({error})") from None
        epochs = payload.get("epochs") if isinstance(payload, dict) else None
        if not isinstance(epochs, list) or not all(isinstance(e, dict) for e in epochs):
            raise RunFolderError(f"{self.metrics_json}: no list of epoch records under 'epochs'")
        return epochs

    def finished_hash(self) -> str | None:
        """The config hash recorded with the final UME (None: the run has not finished)."""
        try:
            payload = json.loads(self.ume["json"].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return payload.get("config_hash") if isinstance(payload, dict) else None

    def unresumable(self) -> bool:
        """True when the folder holds epoch results but neither a final result nor a checkpoint
        to resume from (a process killed between writing them): training it again must start
        in a fresh folder."""
        finished = self.ume["json"].is_file()
        return self.metrics_json.is_file() and not self.last.is_file() and not finished

    def save(
        self, which: str, model_state: Mapping[str, Any], config: TrainConfig, **kw: Any
    ) -> None:
        """Write the "last" (train-state) or "best" (model) checkpoint."""
        kind = "train-state" if which == "last" else "model"
        save_checkpoint(
            self._checkpoint(which), model_state, kind=kind, config_hash=config.config_hash(), **kw
        )

    def load(
        self,
        which: str,
        config: TrainConfig,
        expected: Mapping[str, Any] | None = None,
    ) -> Checkpoint:
        """Read and validate the "last" or "best" checkpoint against ``config``'s hash (and,
        given the model's state dict ``expected``, its tensor names and shapes before reading
        them); a link leading out of this folder is refused."""
        kind = "train-state" if which == "last" else None
        return load_checkpoint(
            self._checkpoint(which),
            kind=kind,
            config_hash=config.config_hash(),
            expected=expected,
            root=self.path,
        )

    def _checkpoint(self, which: str) -> Path:
        if which not in ("last", "best"):
            raise ValueError(f"checkpoint must be 'last' or 'best'; got {which!r}")
        return self.last if which == "last" else self.best


def run_name(config: TrainConfig) -> str:
    """``<data>-<framework or baseline>[-causal][-fold<k>]-seed<s>[-selected-on-TEST]``."""
    parts = [config.dataset_label, config.framework if config.model == "iteach" else config.model]
    if config.causal:
        parts.append("causal")
    if config.fold is not None:
        parts.append(f"fold{config.fold}")
    parts.append(f"seed{config.seed}")
    if config.selected_on_test:
        parts.append(TEST_SUFFIX)
    return "-".join(parts)


def run_dir_for(config: TrainConfig, out: Path, name: str | None, multiple: bool) -> Path:
    """``out/name`` (with the run's own name appended when several runs share ``name``)."""
    if name is None:
        return out / run_name(config)
    if multiple:
        return out / name / run_name(config)
    if config.selected_on_test and TEST_SUFFIX not in name:
        name = f"{name}-{TEST_SUFFIX}"
    return out / name
