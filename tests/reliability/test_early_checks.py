"""Every check that can run before the run folder is written does: label sets a run cannot learn
from, options that would be silently ignored or fail late, tables that say one thing twice.
Errors leave no run folder; suspicious but trainable labels are warned about."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erc_data import DataError, load_conversations
from iteach_app.cli import app
from iteach_app.config import resolve
from iteach_app.training.optim import build_schedule
from tests.iteach.own.conftest import features_option, write_own_table
from tests.reliability.test_cli_errors import TINY, _fails_clearly

runner = CliRunner()
OWN = [
    *("--hidden-dim", "8", "--num-heads", "2", "--batch-size", "4", "--device", "cpu"),
    *("--eval-rates", "0,0.5", "--checkpoint-every", "0", "--epochs", "1", "-q"),
]


def _own(tmp_path: Path, relabel, **options) -> tuple[Path, str]:
    """An own table whose rows pass through ``relabel(row) -> row``, and its --features."""
    table, features = write_own_table(tmp_path / "data", **options)
    rows = [relabel(json.loads(line)) for line in table.read_text().splitlines()]
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return table, features_option(features)


def _train_own(tmp_path: Path, table: Path, features: str, *extra: str):
    args = ["train", "--conversations", table, "--features", features, *OWN, *extra]
    return [*args, "--out", tmp_path / "runs", "--name", "r"]


def _no_run(tmp_path: Path) -> None:
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- labels
def test_class_index_far_above_the_rest_is_refused(tmp_path) -> None:
    index = {"neutral": 0, "happy": 1, "angry": 99999999}
    table, features = _own(tmp_path, lambda r: {**r, "label": index[r["label"]]})
    _fails_clearly(_train_own(tmp_path, table, features), "100000000 classes")
    _no_run(tmp_path)


def test_all_labels_one_class_is_refused_before_the_folder(tmp_path) -> None:
    table, features = _own(tmp_path, lambda r: {**r, "label": 0})
    _fails_clearly(_train_own(tmp_path, table, features), "at least two")
    _no_run(tmp_path)


def test_one_class_in_train_is_refused(tmp_path) -> None:
    def relabel(row):
        return {**row, "label": "neutral"} if row["split"] == "train" else row

    table, features = _own(tmp_path, relabel)
    _fails_clearly(_train_own(tmp_path, table, features), "single class")
    _no_run(tmp_path)


def test_a_class_only_in_test_is_warned_about(tmp_path) -> None:
    def relabel(row):
        if row["split"] != "test" and row["label"] == "angry":
            return {**row, "label": "happy"}
        return row

    table, features = _own(tmp_path, relabel)
    result = runner.invoke(app, [str(a) for a in _train_own(tmp_path, table, features)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr
    assert "'angry' appear in test but never in train" in result.stderr


def test_class_names_differing_in_case_or_spaces_are_warned_about(tmp_path) -> None:
    variants = {"neutral": "joy", "happy": " joy", "angry": "Joy"}
    table, features = _own(tmp_path, lambda r: {**r, "label": variants[r["label"]]})
    result = runner.invoke(app, [str(a) for a in _train_own(tmp_path, table, features)])
    assert result.exit_code == 0, result.output
    assert "differ only in case or spaces" in result.stderr
    assert "' joy'" in result.stderr


def test_constant_regression_targets_are_warned_about(tmp_path) -> None:
    table, features = _own(tmp_path, lambda r: {**r, "label": 0.5})
    result = runner.invoke(app, [str(a) for a in _train_own(tmp_path, table, features)])
    assert result.exit_code == 0, result.output
    assert "every training target is 0.5" in result.stderr


# ---------------------------------------------------------------- tables
def _rows(n: int = 4) -> list[dict]:
    return [
        {"conversation_id": f"c{i // 2}", "utterance_id": f"u{i}", "speaker": "A", "label": i % 2}
        for i in range(n)
    ]


def test_duplicate_csv_header_column_is_refused(tmp_path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("conversation_id,utterance_id,speaker,label,label\nc,u0,A,0,1\n")
    with pytest.raises(DataError, match=r"t\.csv, header: column 'label' appears twice"):
        load_conversations(table, {"text": tmp_path / "none.npz"})


def test_duplicate_jsonl_key_is_refused(tmp_path) -> None:
    table = tmp_path / "t.jsonl"
    table.write_text(
        '{"conversation_id": "c", "utterance_id": "u0", "speaker": "A", "label": 0, "label": 1}\n'
    )
    with pytest.raises(DataError, match=r"t\.jsonl, line 1: column 'label' appears twice"):
        load_conversations(table, {"text": tmp_path / "none.npz"})


def test_split_column_without_test_is_refused(tmp_path) -> None:
    table, features = _own(
        tmp_path, lambda r: {**r, "split": "val" if r["split"] == "test" else r["split"]}
    )
    _fails_clearly(_train_own(tmp_path, table, features), "no 'test' conversation")
    _no_run(tmp_path)


# ---------------------------------------------------------------- options
def test_keep_at_least_above_the_modalities_is_refused(tmp_path) -> None:
    _fails_clearly(
        ["train", *TINY, "--keep-at-least", "5", "--out", tmp_path / "runs"], "keep_at_least 5"
    )
    _no_run(tmp_path)


def test_repeated_eval_rates_name_the_option_before_the_folder(tmp_path) -> None:
    _fails_clearly(
        ["train", *TINY, "--eval-rates", "0.5,0.5", "--out", tmp_path / "runs"], "eval_rates"
    )
    _no_run(tmp_path)


def test_repeated_seed_is_refused_before_any_training(tmp_path) -> None:
    _fails_clearly(
        ["train", *TINY, "--seed", "0,0", "--out", tmp_path / "runs"], "--seed: 0 is given twice"
    )
    _no_run(tmp_path)


@pytest.mark.parametrize("seed", [str(2**70), f"0,{2**64}"])
def test_a_seed_beyond_64_bits_is_named(tmp_path, seed) -> None:
    _fails_clearly(["train", *TINY, "--seed", seed, "--out", tmp_path / "runs"], "--seed")
    _no_run(tmp_path)


def test_eval_seed_beyond_64_bits_is_named(tmp_path) -> None:
    _fails_clearly(
        ["train", *TINY, "--eval-seed", str(2**70), "--out", tmp_path / "runs"], "eval_seed"
    )
    _no_run(tmp_path)


def test_synth_width_zero_is_refused(tmp_path) -> None:
    _fails_clearly(["data", "synth", tmp_path / "d", "--dims", "text=0,audio=4"], "text=0")
    assert not (tmp_path / "d").exists()


def test_huge_epochs_keep_a_short_warm_up() -> None:
    from iteach_app.training.optim import MAX_WARMUP_STEPS

    config = resolve(overrides={"synthetic": "mosi", "epochs": 10**6, "warmup_fraction": 0.05})
    schedule = build_schedule(config, steps_per_epoch=4)
    assert schedule.warmup_steps == MAX_WARMUP_STEPS
    assert schedule.factor(MAX_WARMUP_STEPS - 1) == 1.0
    assert schedule.factor(MAX_WARMUP_STEPS) > 0.99
    small_config = resolve(overrides={"synthetic": "mosi", "epochs": 20})
    small = build_schedule(small_config, 4)
    assert small.warmup_steps == round(80 * small_config.warmup_fraction)


def test_a_taken_later_folder_fails_before_the_first_run_trains(tmp_path) -> None:
    out = tmp_path / "runs"
    result = runner.invoke(app, ["train", *TINY, "--seed", "2,1", "--out", str(out), "--name", "g"])
    assert result.exit_code == 0, result.output
    _fails_clearly(["train", *TINY, "--seed", "3,1", "--out", out, "--name", "g"], "seed1")
    assert not [p for p in (out / "g").iterdir() if p.name.endswith("seed3")]
