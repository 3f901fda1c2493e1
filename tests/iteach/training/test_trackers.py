"""--report-to: TensorBoard events read back by tensorboard's EventAccumulator, an MLflow file
store read back by its client, W&B calls through a stand-in module; metrics.csv's lr and
seconds columns; a missing tracker package named with its extra."""

from __future__ import annotations

import csv
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from iteach_app.config import ConfigError
from iteach_app.training.run_folder import RunFolder
from iteach_app.training.trainer import Trainer


def _train(make_config: Any, tiny_data: Any, run_dir: Path, **overrides: Any) -> Any:
    config = make_config(**overrides)
    return Trainer(config, run_dir, data=tiny_data, verbose=False).fit()


def test_metrics_csv_has_lr_and_seconds(make_config: Any, tiny_data: Any, tmp_path: Path) -> None:
    _train(make_config, tiny_data, tmp_path / "run", lr_schedule="cosine", warmup_fraction=0.0)
    rows = list(csv.DictReader(RunFolder(tmp_path / "run").metrics_csv.open()))
    assert len(rows) == 2
    lrs = [float(r["lr"]) for r in rows]
    assert 0 < lrs[1] < lrs[0] < 1e-3  # cosine decay from lr 1e-3 over 6 steps
    assert all(float(r["seconds"]) > 0 and float(r["eval_seconds"]) > 0 for r in rows)


@pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None,
    reason="tensorboard not installed ([tensorboard] extra)",
)
def test_tensorboard_events_read_back(make_config: Any, tiny_data: Any, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = _train(make_config, tiny_data, tmp_path / "run", report_to="tensorboard")
    events = EventAccumulator(str(RunFolder(tmp_path / "run").tracking))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    for tag in ("train/loss", "train/distill_loss", "train/lr", "train/grad_norm"):
        assert tag in scalars
        assert [e.step for e in events.Scalars(tag)] == list(range(1, 7))  # 2 epochs x 3 steps
    for tag in ("val/waf_avg", "time/seconds", "time/eval_seconds", "epoch/lr"):
        assert [e.step for e in events.Scalars(tag)] == [3, 6]
    val = [e.value for e in events.Scalars("val/waf_avg")]
    assert val == pytest.approx([r["val_waf_avg"] for r in result.history])
    assert all(e.value > 0 for e in events.Scalars("train/grad_norm"))
    assert "config/text_summary" in events.Tags()["tensors"]


@pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None, reason="mlflow not installed ([mlflow] extra)"
)
@pytest.mark.parametrize("store", ["default", "file"])
def test_mlflow_run_read_back(
    make_config: Any, tiny_data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """The default store (SQLite in the run folder) and a local file store from the env."""
    from mlflow.tracking import MlflowClient

    folder = RunFolder(tmp_path / "run")
    if store == "file":
        uri = (tmp_path / "mlruns").as_uri()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        uri = f"sqlite:///{folder.mlflow_db}"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "tests")
    config = make_config(report_to="mlflow")
    result = Trainer(config, folder.path, data=tiny_data, verbose=False).fit()
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert run.data.params["config_hash"] == config.config_hash()
    assert run.data.params["hidden_dim"] == "16"
    assert run.info.run_name == "run"
    assert run.info.status == "FINISHED"
    losses = client.get_metric_history(run.info.run_id, "train/loss")
    assert sorted(m.step for m in losses) == list(range(1, 7))
    val = sorted(client.get_metric_history(run.info.run_id, "val/waf_avg"), key=lambda m: m.step)
    assert [m.value for m in val] == pytest.approx([r["val_waf_avg"] for r in result.history])


def test_wandb_receives_config_steps_and_epochs(
    make_config: Any, tiny_data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: dict[str, Any] = {"logs": []}

    class Run:
        def log(self, values: dict, step: int) -> None:
            calls["logs"].append((step, values))

        def finish(self) -> None:
            calls["finished"] = True

    def init(**kwargs: Any) -> Run:
        calls["init"] = kwargs
        return Run()

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    config = make_config(report_to="wandb")
    Trainer(config, tmp_path / "run", data=tiny_data, verbose=False).fit()
    assert calls["init"]["config"]["config_hash"] == config.config_hash()
    assert calls["init"]["name"] == "run"
    assert calls["finished"]
    steps = [s for s, v in calls["logs"] if "train/loss" in v]
    assert steps == list(range(1, 7))
    assert [s for s, v in calls["logs"] if "val/waf_avg" in v] == [3, 6]


def test_missing_tracker_package_names_the_extra(
    make_config: Any, tiny_data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ConfigError, match=r"pip install 'iteach-app\[tensorboard\]'"):
        Trainer(make_config(report_to="tensorboard"), tmp_path / "run", data=tiny_data)
    assert not (tmp_path / "run").exists()


def test_report_to_is_recorded_but_not_hashed(make_config: Any) -> None:
    assert make_config(report_to="mlflow").config_hash() == make_config().config_hash()
    assert make_config(report_to="mlflow").to_dict()["report_to"] == "mlflow"
