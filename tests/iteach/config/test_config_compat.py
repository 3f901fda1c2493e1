"""Configs written before the settings took their model constructor's names still load, run and
keep their hash; a resolved config records the teacher and student its preset chose.

data/configs_b8be368/ holds config.toml files written by the app at commit b8be368 (before the
rename) and the hash each had then (hashes.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.commands.options import upgrade_legacy_flags
from iteach_app.config import ConfigError, load_toml, presets, resolve, to_toml

OLD = Path(__file__).parents[1] / "data" / "configs_b8be368"
OLD_HASHES: dict[str, str] = json.loads((OLD / "hashes.json").read_text())
runner = CliRunner()


@pytest.mark.parametrize("name", sorted(OLD_HASHES))
def test_a_config_written_before_the_rename_keeps_its_hash(name: str) -> None:
    path = OLD / f"{name}.toml"
    header = re.search(r"hash ([0-9a-f]{16})", path.read_text().splitlines()[0])
    assert header is not None
    assert header.group(1) == OLD_HASHES[name]
    config = resolve(load_toml(path))
    assert config.config_hash() == OLD_HASHES[name]


@pytest.mark.parametrize("name", sorted(OLD_HASHES))
def test_rewriting_an_old_config_keeps_its_hash(name: str, tmp_path: Path) -> None:
    config = resolve(load_toml(OLD / f"{name}.toml"))
    again = tmp_path / "config.toml"
    again.write_text(to_toml(config))
    assert "fusion_gates" not in again.read_text()
    assert resolve(load_toml(again)).config_hash() == OLD_HASHES[name]


def test_old_spellings_in_a_file_read_as_the_new_settings() -> None:
    config = resolve(load_toml(OLD / "ts_no_gates_layernorm.toml"))
    assert config.gated_fusion is False
    assert config.input_norm is True
    default = resolve(load_toml(OLD / "its_default.toml"))
    assert default.gated_fusion is True
    assert default.input_norm is False


def test_old_and_new_name_together_is_an_error() -> None:
    with pytest.raises(ConfigError, match="give gated_fusion or its old name fusion_gates"):
        resolve(overrides={"synthetic": "iemocap4", "fusion_gates": "none", "gated_fusion": True})
    with pytest.raises(ConfigError, match=r"fusion_gates .* must be one of tanh, none"):
        resolve(overrides={"synthetic": "iemocap4", "fusion_gates": "sigmoid"})


def test_old_command_line_spellings_become_the_new_flags() -> None:
    args = ["train", "--fusion-gates", "none", "--input-norm=layernorm", "--epochs", "2"]
    assert upgrade_legacy_flags(args) == [
        "train", "--no-gated-fusion", "--input-norm", "--epochs", "2",
    ]  # fmt: skip
    assert upgrade_legacy_flags(["--fusion-gates=tanh", "--input-norm", "none"]) == [
        "--gated-fusion",
        "--no-input-norm",
    ]
    assert upgrade_legacy_flags(["--input-norm", "--causal"]) == ["--input-norm", "--causal"]


def test_a_run_given_old_flags_trains_with_the_new_settings(
    tmp_path: Path, tiny_overrides: dict[str, Any]
) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(to_toml(resolve(overrides={**tiny_overrides, "epochs": 1})))
    result = runner.invoke(
        app,
        ["train", "--config", str(toml), "--fusion-gates", "none", "--input-norm", "layernorm",
         "--no-audit", "--out", str(tmp_path / "out"), "-q"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (written,) = (tmp_path / "out").glob("*/config.toml")
    config = resolve(load_toml(written))
    assert config.gated_fusion is False
    assert config.input_norm is True


# ------------------------------------------------------------------ resolved roles
def test_the_resolved_config_records_the_presets_teacher_and_student(make_config) -> None:
    text = to_toml(make_config())
    for line in ('teacher = "attention"', 'student = "nas"', "teacher_layers = 3"):
        assert line in text
    assert "student_layers = 4" in text
    ts = make_config(framework="ts")
    assert (ts.teacher, ts.teacher_layers, ts.student, ts.student_layers) == (
        "nas",
        4,
        "attention",
        3,
    )
    pre = make_config(framework="pre")
    assert (pre.teacher, pre.student, pre.student_layers) == (None, "attention", 4)


def test_recording_the_roles_leaves_the_hash_as_before(make_config) -> None:
    """Filled-in roles hash as not given; an explicit one hashes as given (as before)."""
    recorded = make_config()
    unresolved = make_config()
    unresolved.teacher = unresolved.student = None
    unresolved.teacher_layers = unresolved.student_layers = None
    unresolved.resolved_by_preset = []
    assert recorded.config_hash() == unresolved.config_hash()
    explicit = make_config(teacher="attention")
    assert "teacher" not in explicit.resolved_by_preset
    assert explicit.config_hash() != recorded.config_hash()


def test_a_preset_change_does_not_reinterpret_a_recorded_run(
    make_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = tmp_path / "config.toml"
    recorded.write_text(to_toml(make_config()))
    changed = {**presets.FRAMEWORK_ROLES["its"], "teacher_layers": 5}
    monkeypatch.setitem(presets.FRAMEWORK_ROLES, "its", changed)
    assert resolve(load_toml(recorded)).teacher_layers == 3
    assert resolve(load_toml(OLD / "its_default.toml")).teacher_layers == 5  # nulls: re-resolved


def test_a_flag_that_changes_the_framework_resolves_the_roles_again(
    make_config, tmp_path: Path
) -> None:
    recorded = tmp_path / "config.toml"
    recorded.write_text(to_toml(make_config()))
    ts = resolve(load_toml(recorded), {"framework": "ts"})
    assert (ts.teacher, ts.teacher_layers, ts.student, ts.student_layers) == (
        "nas",
        4,
        "attention",
        3,
    )
    deeper = resolve(load_toml(recorded), {"student_layers": 5})
    assert deeper.student_layers == 5
    assert "student_layers" not in deeper.resolved_by_preset
    assert deeper.config_hash() == make_config(student_layers=5).config_hash()


def test_resolved_by_preset_names_only_role_settings() -> None:
    with pytest.raises(ConfigError, match="resolved_by_preset names hidden_dim"):
        resolve(overrides={"synthetic": "iemocap4", "resolved_by_preset": ["hidden_dim"]})


def test_a_sweep_file_with_the_old_name_still_sweeps(tmp_path: Path) -> None:
    from iteach_app.sweeps.spec import load_sweep

    spec = tmp_path / "sweep.toml"
    spec.write_text('[base]\nsynthetic = "iemocap4"\n[axes]\nfusion_gates = ["tanh", "none"]\n')
    runs = load_sweep(spec).runs()
    assert [run.config.gated_fusion for run in runs] == [True, False]
    assert runs[0].config.config_hash() == OLD_HASHES["its_default"]
