"""One model vocabulary: every --model value is a registry name; the CLI choices, `params`,
titles and labels derive from the registrations; a new baseline is one file; a setting a model
does not take is refused by name; the teacher / student roles accept only encoders."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.commands.options import _cli_type
from iteach_app.config import ConfigError, model_catalog, resolve
from iteach_app.config.schema import MODEL_SETTINGS
from iteach_app.model import model_entries, registry
from iteach_app.model.baselines import BASELINES, PAPER_PARAMETERS, baseline_parameter_table
from iteach_app.model.parameters import PAPER_PARAMETERS as ITEACH_PAPER_PARAMETERS
from iteach_app.model.parameters import paper_parameter_table
from iteach_app.report.labels import figure_title, model_label
from iteach_app.training.framework import build_framework, model_settings
from iteach_app.training.trainer import BASELINE_LABELS, Trainer

runner = CliRunner()


def _invoke(*args: Any):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _baseline_tiny(tiny: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {**{k: v for k, v in tiny.items() if k not in MODEL_SETTINGS}, **more}


# ------------------------------------------------------------------ derivations
def test_the_static_catalog_equals_the_registry() -> None:
    """The CLI reads the decorators without torch; at run time they register the same facts."""
    declared = model_catalog.declared_models()
    registered = model_entries()
    assert set(declared) == set(registered)
    for name, entry in registered.items():
        d = declared[name]
        assert (d.label, d.paper_parameters, d.kind) == (
            entry.label,
            entry.paper_parameters,
            entry.kind,
        )


def test_cli_model_choices_are_the_registry_names_of_trainable_models() -> None:
    choices = {member.value for member in _cli_type("model")}
    assert choices == set(model_entries("framework", "baseline"))
    assert choices == {"iteach", "ae", "cra", "mmin", "gcnet", "cpm"}


def test_old_side_tables_are_views_of_the_registry() -> None:
    baselines = model_entries("baseline")
    assert dict(BASELINES) == {name: entry.fn for name, entry in baselines.items()}
    assert dict(PAPER_PARAMETERS) == {n: e.paper_parameters for n, e in baselines.items()}
    assert dict(BASELINE_LABELS) == {n: e.label for n, e in baselines.items()}
    assert PAPER_PARAMETERS["gcnet"] == 34.14e6
    assert PAPER_PARAMETERS["cpm"] is None
    assert ITEACH_PAPER_PARAMETERS == {"teacher": 2.19e6, "student": 3.88e6}


def test_params_tables_have_one_row_per_registration() -> None:
    rows = [line.split("|")[1].strip() for line in baseline_parameter_table(4).splitlines()[2:]]
    assert rows == list(model_entries("baseline"))
    presets = [line.split("|")[1].strip() for line in paper_parameter_table(4).splitlines()[2:]]
    assert presets == ["teacher", "student"]
    out = _invoke("params").output
    assert all(f"| {e.label} |" in out for e in model_entries("baseline").values())


@pytest.mark.parametrize("name", ["ae", "cra", "mmin", "gcnet", "cpm"])
def test_a_baseline_run_is_titled_by_its_registered_label(
    name: str, tiny_overrides: dict[str, Any]
) -> None:
    config = resolve(overrides=_baseline_tiny(tiny_overrides, model=name, mmin_pretrain_epochs=0))
    assert model_label(config) == model_entries()[name].label
    assert model_label(config, short=True) == model_entries()[name].label
    assert "ITEACH" not in model_label(config)


def test_the_iteach_label_reads_the_registry_label_and_the_resolved_roles(make_config) -> None:
    assert model_label(make_config()) == "ITEACH-Net (ITS), attention-3 teacher / nas-4 student"
    assert model_label(make_config(), short=True) == "ITS"
    assert model_label(make_config(framework="pre")) == "PRE, attention-4"


# ------------------------------------------------------------------ roles and unknown names
def test_a_baseline_as_student_is_a_one_line_error(tmp_path: Path) -> None:
    result = _invoke("train", "--synthetic", "iemocap4", "--student", "gcnet", "--out", tmp_path)
    assert result.exit_code == 2
    assert "student must be one of attention, nas" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unknown_model_names_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match="model must be one of iteach, ae, cpm, cra, gcnet"):
        resolve(overrides={"synthetic": "iemocap4", "model": "lstm"})


# ------------------------------------------------------------------ settings by name
def test_a_model_setting_a_baseline_does_not_take_is_refused(
    tmp_path: Path, tiny_overrides: dict[str, Any], tiny_data: Any
) -> None:
    config = resolve(overrides=_baseline_tiny(tiny_overrides, model="gcnet", hidden_dim=64))
    with pytest.raises(ConfigError, match="model 'gcnet' does not take hidden_dim"):
        build_framework(config, tiny_data.modality_dims, 4, "classification")
    result = _invoke(
        "train", "--synthetic", "iemocap4", "--synthetic-dialogues", 6, "--model", "gcnet",
        "--hidden-dim", 64, "--epochs", 1, "--no-audit", "--out", tmp_path, "-q",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "model 'gcnet' does not take hidden_dim" in result.output


def test_a_baseline_takes_only_the_settings_the_user_gave(tiny_overrides) -> None:
    plain = resolve(overrides=_baseline_tiny(tiny_overrides, model="ae"))
    assert model_settings(plain, "ae") == {}  # its own defaults, as before
    tuned = resolve(overrides=_baseline_tiny(tiny_overrides, model="ae", dropout=0.2))
    assert model_settings(tuned, "ae") == {"dropout": 0.2}


def test_model_options_reach_the_factory_by_name(tiny_overrides, tiny_data, tmp_path) -> None:
    config = resolve(
        overrides=_baseline_tiny(tiny_overrides, model="gcnet", model_options={"hidden": 12})
    )
    model = build_framework(config, tiny_data.modality_dims, 4, "classification").student
    assert model.classifier.in_features == 2 * 12 + 12 // 2  # BiLSTM 2 x hidden + graph hidden
    assert model_settings(config, "gcnet") == {"hidden": 12}
    bad = resolve(overrides=_baseline_tiny(tiny_overrides, model="gcnet", model_options={"x": 1}))
    with pytest.raises(ConfigError, match="model 'gcnet' does not take x"):
        build_framework(bad, tiny_data.modality_dims, 4, "classification")
    toml = tmp_path / "c.toml"
    toml.write_text('synthetic = "iemocap4"\nmodel = "gcnet"\n[model_options]\nhidden = 12\n')
    from iteach_app.config import load_toml

    assert resolve(load_toml(toml)).model_options == {"hidden": 12}


def test_model_options_on_the_command_line_are_toml_values() -> None:
    from iteach_app.commands.options import _value

    parsed = _value("model_options", "hidden=12,dropout=0.4,name=x,flag=true")
    assert parsed == {"hidden": 12, "dropout": 0.4, "name": "x", "flag": True}


# ------------------------------------------------------------------ a new baseline is one file
TINY_BASELINE = textwrap.dedent(
    '''
    """A tiny test baseline: one linear layer over the concatenated modalities."""

    from __future__ import annotations

    import torch
    from torch import nn

    from iteach_app.model.baselines._common import IncompleteBaseline
    from iteach_app.model.registry import register_model


    @register_model("tinyline", label="TinyLine", paper_parameters=1.0e3)
    class TinyLine(IncompleteBaseline):
        def __init__(self, modality_dims, out_dim, width: int = 5) -> None:
            super().__init__(modality_dims, out_dim)
            self.head = nn.Linear(sum(modality_dims.values()), out_dim)

        def forward(self, features, utterance_mask, present=None, speakers=None, *, complete=None):
            x = torch.cat([features[m] for m in self.modalities], dim=-1)
            return self.head(x)
    '''
)


@pytest.fixture
def tiny_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A baseline file in a model folder of its own, registered as the app registers its own."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "tinyline.py").write_text(TINY_BASELINE)
    monkeypatch.setattr(model_catalog, "MODEL_FOLDERS", [*model_catalog.MODEL_FOLDERS, folder])
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    registry.import_model_files()
    yield "tinyline"
    sys.modules.pop("iteach_app_models.tinyline", None)


def test_a_new_baseline_is_one_file(
    tiny_baseline: str, tiny_overrides, tiny_data, tmp_path: Path
) -> None:
    assert tiny_baseline in model_catalog.model_choices()
    assert tiny_baseline in BASELINES
    assert PAPER_PARAMETERS[tiny_baseline] == 1.0e3
    assert BASELINE_LABELS[tiny_baseline] == "TinyLine"
    assert "| tinyline | TinyLine |" in baseline_parameter_table(4)
    config = resolve(overrides=_baseline_tiny(tiny_overrides, model=tiny_baseline, epochs=1))
    assert model_label(config) == "TinyLine"
    trainer = Trainer(
        config, tmp_path / "run", data=tiny_data, verbose=False, title=figure_title(config)
    )
    result = trainer.fit()
    assert len(result.history) == 1
    assert trainer.title.startswith("TinyLine on ")
    assert type(trainer.model.student).__name__ == "TinyLine"
    wide = resolve(overrides=_baseline_tiny(tiny_overrides, model=tiny_baseline, hidden_dim=8))
    with pytest.raises(ConfigError, match="model 'tinyline' does not take hidden_dim"):
        build_framework(wide, tiny_data.modality_dims, 4, "classification")


def test_a_baseline_run_trained_with_ignored_settings_still_evaluates_and_resumes(
    tiny_overrides, tiny_data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs trained before settings were refused (hidden_dim ignored by gcnet) rebuild as they
    trained: `evaluate` and resume drop the settings the model does not take."""
    from iteach_app.training import trainer as trainer_module
    from iteach_app.training.evaluation import evaluate_run

    config = resolve(overrides=_baseline_tiny(tiny_overrides, model="gcnet", hidden_dim=16))

    def lenient(*args: Any, strict: bool = True, **kwargs: Any) -> Any:
        return build_framework(*args, strict=False, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(trainer_module, "build_framework", lenient)  # the trainer before the change
        first = Trainer(config, tmp_path / "run", data=tiny_data, verbose=False).fit()
    _, again = evaluate_run(first.run_dir)
    assert again.per_rate == first.ume.per_rate
    more = resolve(overrides=_baseline_tiny(tiny_overrides, model="gcnet", hidden_dim=16))
    resumed = Trainer(more, first.run_dir, data=tiny_data, verbose=False, resume=True).fit()
    assert resumed.ume.per_rate == first.ume.per_rate


def test_the_catalog_reads_a_wrapped_decorator_and_refuses_a_computed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "wrapped.py").write_text(
        '@register_model(\n    "wrapped",\n    label="Wrapped Net",\n    paper_parameters=2e6,\n)\n'
        "class Wrapped:\n    pass\n"
    )
    monkeypatch.setattr(model_catalog, "MODEL_FOLDERS", [folder])
    declared = model_catalog.declared_models()
    assert list(declared) == ["wrapped"]
    assert (declared["wrapped"].label, declared["wrapped"].paper_parameters) == ("Wrapped Net", 2e6)
    (folder / "computed.py").write_text('@register_model("c", label=LABEL)\ndef c():\n    pass\n')
    with pytest.raises(ValueError, match=r"computed.py:1: register_model takes .* literal"):
        model_catalog.declared_models()
