"""Distillation settings: recorded, passed to its-distill, refused where they cannot apply."""

from __future__ import annotations

import pytest

from iteach_app.config import ConfigError, resolve
from iteach_app.training.framework import build_framework


def _resolve(**overrides):
    return resolve(overrides={"synthetic": "iemocap4", **overrides}, source="test")


def test_presets_fill_the_distance_and_the_flag_overrides_it() -> None:
    assert _resolve(preset="paper").distill_distance == "mse"
    assert _resolve(preset="paper").teacher_epochs == 0
    assert (_resolve().distill_distance, _resolve().teacher_epochs) == ("cosine", 10)
    chosen = _resolve(distill_distance="cosine")
    assert chosen.distill_distance == "cosine"
    assert chosen.config_hash() != _resolve(distill_distance="mse").config_hash()


def test_a_resolved_run_without_a_teacher_resolves_again(tmp_path) -> None:
    from iteach_app.config import load_toml, to_toml

    config = _resolve(framework="pre")
    path = tmp_path / "config.toml"
    path.write_text(to_toml(config))
    again = resolve(load_toml(path), {}, source=str(path))
    assert again.distill_distance == config.distill_distance


def test_the_wrapper_gets_the_distance(make_config, tiny_data) -> None:
    config = make_config(distill_distance="normalized_mse")
    its = build_framework(config, tiny_data.modality_dims, tiny_data.out_dim, tiny_data.task)
    assert its.distance == "normalized_mse"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"framework": "pre", "distill_projector": "linear"}, "distill_projector"),
        ({"framework": "pre", "distill_on": "all"}, "distill_on"),
        ({"model": "ae", "distill_on": "all"}, "model 'ae'"),
        ({"teacher_layers": 2}, "teacher_layers is 2"),
        ({"framework": "ts", "student_layers": 1}, "student_layers is 1"),
    ],
)
def test_settings_that_cannot_apply_are_one_line_errors(overrides: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named) as error:
        _resolve(**overrides)
    assert "\n" not in str(error.value)
