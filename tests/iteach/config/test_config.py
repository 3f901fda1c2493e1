"""TrainConfig: paper defaults, TOML + option layering, validation errors, run-folder round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from iteach_app.config import (
    ConfigError,
    TrainConfig,
    load_toml,
    parse_pairs,
    resolve,
)
from iteach_app.config.validate import validate
from iteach_app.training.framework import Role, resolve_roles
from iteach_app.training.run_folder import RunFolder


def test_defaults_are_the_papers() -> None:
    config = validate(TrainConfig(synthetic="iemocap4", preset="paper"))
    assert (config.hidden_dim, config.mlp_ratio, config.num_heads) == (128, 4.0, 8)
    assert (config.window, config.max_distance) == (7, 30)
    assert (config.lr, config.router_lr, config.batch_size, config.epochs) == (5e-4, 5e-3, 32, 100)
    assert config.regression_loss == "mse"
    assert config.select_on == "val"
    roles = {f: resolve_roles(TrainConfig(framework=f)) for f in ("its", "ts", "pre")}
    assert roles["its"] == (Role("attention", 3), Role("nas", 4))
    assert roles["ts"] == (Role("nas", 4), Role("attention", 3))
    assert roles["pre"] == (None, Role("attention", 4))


def test_options_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'synthetic = "mosi"\nepochs = 7\nlr = 0.001\n[synthetic_dims]\ntext = 8\naudio = 4\n'
    )
    config = resolve(load_toml(path), {"epochs": 3, "lr": None}, source=str(path))
    assert config.epochs == 3  # the option wins
    assert config.lr == 0.001  # None = option not given: the file's value stays
    assert config.synthetic_dims == {"text": 8, "audio": 4}


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("synthetic = 'mosi'\nlearning_rate = 0.1\n")
    with pytest.raises(ConfigError, match=r"c\.toml.*learning_rate"):
        load_toml(path)


def test_invalid_toml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("epochs = = 3\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_toml(path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "no data"),
        ({"synthetic": "mosi", "framework": "kd"}, "framework must be one of"),
        ({"synthetic": "mosi", "epochs": 0}, "epochs must be > 0"),
        ({"synthetic": "mosi", "epochs": "3"}, "epochs must be an integer"),
        ({"synthetic": "mosi", "hidden_dim": 30, "num_heads": 8}, "divisible by num_heads"),
        ({"synthetic": "mosi", "mask_schedule": "sometimes"}, "mask_schedule 'sometimes'"),
        ({"synthetic": "mosi", "select_on": "train"}, "select_on must be one of"),
        ({"synthetic": "mosi", "device": "tpu"}, "device must be"),
        ({"synthetic": "mosi", "regression_loss": "huber"}, "regression_loss"),
        ({"synthetic": "mosi", "eval_rates": [0.0, 1.5]}, "eval_rates"),
        ({"data": "x", "dataset": "CMUMOSI", "features": {"text": "t"}, "fold": 2}, "IEMOCAP only"),
        (
            {"data": "x", "dataset": "IEMOCAPFour", "features": {"text": "t"}, "fold": 6},
            "fold must be <= 5",
        ),
        ({"data": "x", "dataset": "MELD", "features": {"text": "t"}}, "dataset must be one of"),
        ({"synthetic": "mosi", "data": "x", "dataset": "CMUMOSI"}, "not both"),
    ],
)
def test_bad_settings_are_refused_clearly(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(overrides=overrides)


def test_parse_pairs() -> None:
    assert parse_pairs("text=minilm-384-UTT, audio=covarep73-UTT") == {
        "text": "minilm-384-UTT",
        "audio": "covarep73-UTT",
    }
    for bad in ("text", "text=", "=x", "text=a,text=b", ""):
        with pytest.raises(ConfigError, match="--features"):
            parse_pairs(bad)


def test_run_folder_round_trip(tmp_path: Path, make_config) -> None:
    config = make_config(select_on="test", grad_clip=1.0)
    RunFolder(tmp_path).write_config(config)
    again = RunFolder(tmp_path).read_config()
    assert again == config
    assert again.config_hash() == config.config_hash()
    assert '"config_hash"' in (tmp_path / "config.json").read_text()


def test_hash_ignores_device_only(make_config) -> None:
    config = make_config()
    assert make_config(device="auto").config_hash() == config.config_hash()
    assert make_config(seed=1).config_hash() != config.config_hash()


def test_missing_run_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not an iteach-app run folder"):
        RunFolder(tmp_path).read_config()


def test_toml_round_trip_with_a_non_ascii_modality(tmp_path: Path) -> None:
    """Own conversations name their modalities freely (a GCNet release's are text/audio/video)."""
    config = resolve(
        overrides={
            "conversations": str(tmp_path / "données.csv"),
            "features": {"text": "text.npz", "vidéo": "vidéo.npz"},
            "layer_weights": [0.5, 0.25, 0.125],
        },
        source="test",
    )
    RunFolder(tmp_path).write_config(config)
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    assert "vidéo" in text
    assert text.startswith(f"# iteach-app resolved config (hash {config.config_hash()})")
    again = RunFolder(tmp_path).read_config()
    assert again == config
    assert again.config_hash() == config.config_hash()


def test_transformer_is_a_deprecated_alias_of_attention() -> None:
    with pytest.warns(FutureWarning, match="'transformer' is deprecated"):
        config = resolve(overrides={"synthetic": "mosi", "teacher": "transformer"}, source="t")
    assert config.teacher == "attention"


def test_unknown_model_name_is_named() -> None:
    with pytest.raises(ConfigError, match=r"student must be one of .*nas.*; got 'resnet'"):
        resolve(overrides={"synthetic": "mosi", "student": "resnet"}, source="t")
