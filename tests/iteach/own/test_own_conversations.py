"""`--conversations TABLE --features ...`: your own table as a data source for train, data info,
evaluate, plot and --resume, with class names recorded in the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomllib

from iteach_app.config import ConfigError, resolve
from iteach_app.data import build_splits
from tests.iteach.conftest import invoke as _invoke
from tests.iteach.own.conftest import tiny_model_flags, train_on_own_table

NAMES = ("neutral", "happy", "angry")
TINY_MODEL = tiny_model_flags()


@pytest.fixture(scope="module")
def table(tmp_path_factory, own_table) -> tuple[Path, dict[str, str]]:
    return own_table(tmp_path_factory.mktemp("own") / "data")


@pytest.fixture(scope="module")
def run(table, tmp_path_factory) -> Path:
    path, features = table
    out = tmp_path_factory.mktemp("runs")
    return train_on_own_table(path, features, out, "--epochs", 2, "-q", *TINY_MODEL)


def test_splits_come_from_the_tables_split_column(table) -> None:
    path, features = table
    bundle = build_splits(resolve(overrides={"conversations": str(path), "features": features}))
    split_of = {
        json.loads(line)["conversation_id"]: json.loads(line)["split"]
        for line in path.read_text().splitlines()
    }
    for part in ("train", "val", "test"):
        ids = [c.id for c in getattr(bundle, part)]
        assert ids
        assert all(split_of[c] == part for c in ids)
    assert bundle.dataset.label_names == tuple(sorted(NAMES))


def test_without_a_val_split_validation_is_carved_from_train_by_seed(
    tmp_path: Path, own_table
) -> None:
    path, features = own_table(tmp_path, conversations=20, splits=("train", "test"))
    sizes = {}
    for seed in (0, 0, 1):
        config = resolve(
            overrides={
                "conversations": str(path),
                "features": features,
                "seed": seed,
                "val_fraction": 0.2,
            }
        )
        bundle = build_splits(config)
        assert {c.id for c in bundle.test} == {f"s0c{k}" for k in range(1, 20, 2)}
        assert len(bundle.val) == 2
        assert len(bundle.train) == 8
        sizes.setdefault(seed, []).append(sorted(c.id for c in bundle.val))
    assert sizes[0][0] == sizes[0][1]


def test_data_info_takes_the_same_options(table, features_arg) -> None:
    path, features = table
    result = _invoke("data", "info", "--conversations", path, "--features", features_arg(features))
    assert result.exit_code == 0, result.output
    assert "3 classes" in result.output
    assert "text (8), audio (5)" in result.output
    assert all(f"'{name}'" in result.output for name in NAMES)


def test_the_run_records_its_data_source_and_class_names(run, table) -> None:
    config = tomllib.loads((run / "config.toml").read_text())
    assert config["conversations"] == str(table[0])
    assert config["features"] == table[1]
    assert config["labels"] == sorted(NAMES)


def test_evaluate_plot_and_resume_work_on_the_run(run) -> None:
    evaluated = _invoke("evaluate", run, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    payload = json.loads(evaluated.output)
    stored = json.loads((run / "ume.json").read_text())
    assert payload["per_rate"] == stored["per_rate"]
    assert payload["classes"] == sorted(NAMES)
    table = _invoke("evaluate", run)
    assert "classes: angry, happy, neutral" in table.output
    resumed = _invoke("train", "--resume", run, "-q")
    assert resumed.exit_code == 0, resumed.output
    plotted = _invoke("plot", run, "--device", "cpu")
    assert plotted.exit_code == 0, plotted.output


def test_labels_fix_the_class_order(table, tmp_path: Path) -> None:
    path, features = table
    order = "neutral,angry,happy"
    bundle = build_splits(
        resolve(
            overrides={"conversations": str(path), "features": features, "labels": order.split(",")}
        )
    )
    assert bundle.dataset.label_names == tuple(order.split(","))
    first = json.loads(path.read_text().splitlines()[0])
    assert bundle.dataset[0].labels[0] == order.split(",").index(first["label"])


def test_a_class_missing_from_labels_is_one_line_error(table, tmp_path: Path, features_arg) -> None:
    path, features = table
    result = _invoke(
        "train", "--conversations", path, "--features", features_arg(features),
        "--labels", "neutral,happy", "--out", tmp_path, "-q", *TINY_MODEL,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "angry" in result.output
    assert "not one of the label names" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"synthetic": "iemocap4"}, "either conversations or synthetic"),
        ({"fold": 2}, "fold applies to IEMOCAP only"),
        ({"features": {}}, "features is empty"),
        ({"labels": ["a", "a"]}, "repeats a class name"),
    ],
)
def test_conflicting_settings_are_refused(table, extra, message) -> None:
    values = {"conversations": str(table[0]), "features": table[1], **extra}
    with pytest.raises(ConfigError, match=message):
        resolve(overrides=values)


def test_labels_without_a_table_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"labels .* apply to --conversations"):
        resolve(overrides={"synthetic": "mosi", "labels": ["a"]})
