"""The model contract: a minimal model that overrides nothing trains, evaluates and builds its
optimizer on the contract's defaults; the app's models state their capabilities; the training,
command and prediction code asks a model through the contract, never through getattr/hasattr."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

import iteach_app
from iteach_app.data import collate
from iteach_app.model import ITEACHNet, ModelContract
from iteach_app.model.baselines.ae import AE
from iteach_app.model.baselines.mmin import MMIN
from iteach_app.training.distributed import DistInfo
from iteach_app.training.evaluation import Evaluator
from iteach_app.training.loop import TrainLoop, TrainState
from iteach_app.training.optim import build_optimizer
from iteach_app.training.phases import plan_phases
from iteach_app.training.step import prepare_step, run_step
from its_distill import InvertedTeacherStudent
from missing_modality import ModalityMasker, parse_schedule

SOURCE = Path(iteach_app.__file__).parent
CONTRACT = {
    name for name in vars(ModelContract) if not name.startswith("_") and name not in vars(nn.Module)
} | {"modalities", "modality_dims"}


class Minimal(ModelContract):
    """One linear layer over the concatenated (zero-filled) modalities; nothing overridden."""

    def __init__(self, modality_dims: dict[str, int], out_dim: int) -> None:
        super().__init__()
        self.modality_dims = dict(modality_dims)
        self.modalities = tuple(modality_dims)
        self.linear = nn.Linear(sum(modality_dims.values()), out_dim)

    def forward(self, features, utterance_mask: Tensor, present: Tensor) -> Tensor:
        x = torch.cat([features[m] * present[..., k : k + 1] for k, m in
                       enumerate(self.modalities)], dim=-1)  # fmt: skip
        return self.linear(x)


def test_the_contract_names_what_training_asks() -> None:
    assert {
        "uses_speakers", "takes_complete", "auxiliary_loss", "parameter_groups",
        "supports_pretraining", "pretrain_loss", "finish_pretraining", "pretraining_finished",
        "enter_after_pretraining", "exposes_hidden_states", "hidden_layer_paths",
    } <= CONTRACT  # fmt: skip


def test_defaults_of_a_minimal_model(tiny_data) -> None:
    model = Minimal(tiny_data.modality_dims, tiny_data.out_dim)
    assert not model.uses_speakers
    assert not model.takes_complete
    assert model.auxiliary_loss() is None
    assert model.parameter_groups(1e-3, 1e-2, 0.0) == []
    assert not model.supports_pretraining
    assert model.pretraining_finished
    assert not model.exposes_hidden_states
    for call in (model.hidden_layer_paths, model.finish_pretraining,
                 model.enter_after_pretraining):  # fmt: skip
        with pytest.raises(NotImplementedError, match="Minimal"):
            call()


def test_a_minimal_model_trains_and_evaluates_on_the_defaults(make_config, tiny_data) -> None:
    config = make_config(model="iteach", framework="pre", epochs=1)
    its = InvertedTeacherStudent(None, Minimal(tiny_data.modality_dims, tiny_data.out_dim))
    optimizer = build_optimizer(its, config)
    assert [g["name"] for g in optimizer.param_groups] == ["student/params"]  # one group at lr
    batch = collate(tiny_data.train, [0, 1])
    masker = ModalityMasker(its.student.modalities, keep_at_least=1)
    inputs = prepare_step(batch, masker=masker, schedule=parse_schedule("constant:0.5"),
                          seed=0, epoch=0, step=0, student=its.student)  # fmt: skip
    assert set(inputs.student_inputs) == {"features", "utterance_mask", "present"}
    result = run_step(its, batch, masker=masker, schedule=parse_schedule("constant:0.5"),
                      seed=0, epoch=0, step=0)  # fmt: skip
    assert not any(key.endswith("auxiliary_loss") for key in result.logs)
    phases = plan_phases(its, pretrain_epochs=2, teacher_epochs=2, epochs=1)
    assert phases.pretrain_epochs is None
    assert phases.teacher_epochs == 0
    loop = TrainLoop(
        its, its, optimizer, config=config, data=tiny_data, masker=masker,
        schedule=parse_schedule("constant:0.5"), device=torch.device("cpu"),
        dist=DistInfo(),
        state=TrainState(), phases=phases,
    )  # fmt: skip
    before = its.student.linear.weight.detach().clone()
    loop.run()
    assert not torch.equal(before, its.student.linear.weight)
    assert loop.state.history[0]["train_loss"] > 0
    evaluator = Evaluator.for_run(config, tiny_data, torch.device("cpu"))
    ume = evaluator.ume(its.student, tiny_data.test)
    assert list(ume.rates) == list(config.eval_rates)
    assert 0.0 <= ume.average["acc"] <= 1.0


def test_the_app_models_state_their_capabilities() -> None:
    dims = {"text": 8, "audio": 4}
    net = ITEACHNet(dims, 4, num_layers=2, hidden_dim=16, num_heads=2)
    assert isinstance(net, ModelContract)
    assert net.exposes_hidden_states
    assert net.hidden_layer_paths(2) == ["taps.1", "taps.0"]
    assert net.parameter_groups(1e-3, 1e-2, 0.0)  # its own decay / no_decay groups
    ae = AE(dims, 4)
    assert isinstance(ae, ModelContract)
    assert ae.takes_complete
    assert not ae.supports_pretraining
    assert ae.auxiliary_loss() is not None
    mmin = MMIN(dims, 4)
    assert mmin.supports_pretraining
    assert not mmin.pretraining_finished
    mmin.enter_after_pretraining()
    assert mmin.pretraining_finished
    assert not mmin.teacher.training


def _probes(path: Path) -> list[str]:
    """getattr/hasattr calls in ``path`` whose attribute is one of the contract's names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in CONTRACT
        ):
            found.append(f"{path.relative_to(SOURCE)}:{node.lineno} {node.args[1].value}")
    return found


def test_training_commands_and_prediction_do_not_probe_models() -> None:
    paths = [*(SOURCE / "training").glob("*.py"), *(SOURCE / "commands").glob("*.py"),
             SOURCE / "prediction.py"]  # fmt: skip
    assert [probe for path in paths for probe in _probes(path)] == []
