"""The app's AdamW: the same updates and state as torch.optim.AdamW (either one's checkpoint
resumes in the other), under a learning-rate schedule, in float32 and float64, and a whole
training step with it never imports torch._dynamo."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from iteach_app.training import adamw
from iteach_app.training.adamw import AdamW


def _refuse(*args: object) -> None:
    raise AssertionError("the foreach update ran where the fused kernel should")


def _model(seed: int, dtype: torch.dtype) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 9), nn.LayerNorm(9), nn.Linear(9, 4), nn.Linear(4, 2))
    return model.to(dtype)


def _groups(model: nn.Module) -> list[dict]:
    """Three groups with their own rates and decay; the last layer never gets a gradient."""
    return [
        {"params": list(model[0].parameters()), "lr": 3e-2, "weight_decay": 0.1, "name": "a"},
        {"params": list(model[1].parameters()), "lr": 1e-2, "weight_decay": 0.0},
        {"params": list(model[2].parameters()) + list(model[3].parameters()), "lr": 5e-3},
    ]


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> None:
    schedule = LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
    generator = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype
    for _ in range(steps):
        x = torch.randn(8, 6, generator=generator).to(dtype)
        optimizer.zero_grad(set_to_none=True)
        model[:3](x).square().mean().backward()  # model[3] stays without a gradient
        optimizer.step()
        schedule.step()


@pytest.mark.parametrize("kernel", ["fused", "foreach"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_updates_equal_torch(
    dtype: torch.dtype, kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both update paths (the fused kernel on CPU, the foreach ops a device without it gets)
    equal torch's foreach AdamW."""
    if kernel == "foreach":
        monkeypatch.setattr(adamw, "FUSED_DEVICES", ())
    else:
        monkeypatch.setattr(adamw, "_foreach_update", _refuse)
    ours, theirs = _model(0, dtype), _model(0, dtype)
    mine = AdamW(_groups(ours), betas=(0.8, 0.95), eps=1e-7, foreach=True)
    torchs = torch.optim.AdamW(_groups(theirs), betas=(0.8, 0.95), eps=1e-7, foreach=True)
    _train(ours, mine, 25, seed=1)
    _train(theirs, torchs, 25, seed=1)
    tolerance = 1e-6 if dtype == torch.float32 else 1e-12
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=tolerance, atol=tolerance)
    moved = ours[0].weight.detach() - _model(0, dtype)[0].weight
    assert moved.abs().max() > 1e-3  # the test trained something
    torch.testing.assert_close(ours[3].weight, _model(0, dtype)[3].weight)  # no grad: untouched
    assert mine.state_dict()["param_groups"] == torchs.state_dict()["param_groups"]
    for key in ("exp_avg", "exp_avg_sq", "step"):
        torch.testing.assert_close(
            mine.state_dict()["state"][0][key], torchs.state_dict()["state"][0][key]
        )


def test_one_group_of_two_dtypes_equals_torch() -> None:
    """A group holding float32 and float64 parameters is updated per dtype, as torch groups."""
    torch.manual_seed(0)
    start = [torch.randn(5, 3), torch.randn(4, dtype=torch.float64)]
    ours = [nn.Parameter(t.clone()) for t in start]
    theirs = [nn.Parameter(t.clone()) for t in start]
    mine = AdamW(ours, lr=1e-2, weight_decay=0.05)
    torchs = torch.optim.AdamW(theirs, lr=1e-2, weight_decay=0.05, foreach=True)
    for step in range(6):
        for params, optimizer in ((ours, mine), (theirs, torchs)):
            optimizer.zero_grad()
            sum((p * (step + 1)).sin().sum() for p in params).backward()
            optimizer.step()
    for a, b, first in zip(ours, theirs, start, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
        assert a.dtype == first.dtype
        assert (a - first).abs().max() > 1e-3


@pytest.mark.parametrize("direction", ["torch to ours", "ours to torch"])
def test_state_dicts_resume_in_either(direction: str) -> None:
    first, second = (AdamW, torch.optim.AdamW)
    if direction == "ours to torch":
        first, second = second, first
    reference = _model(2, torch.float32)
    reference_opt = first(_groups(reference))
    _train(reference, reference_opt, 10, seed=3)
    resumed = _model(2, torch.float32)
    resumed.load_state_dict(reference.state_dict())
    resumed_opt = second(_groups(resumed))
    resumed_opt.load_state_dict(copy.deepcopy(reference_opt.state_dict()))  # as from a file
    continued = _model(2, torch.float32)
    continued.load_state_dict(reference.state_dict())
    continued_opt = first(_groups(continued))
    continued_opt.load_state_dict(copy.deepcopy(reference_opt.state_dict()))
    _train(resumed, resumed_opt, 5, seed=4)
    _train(continued, continued_opt, 5, seed=4)
    for a, b in zip(resumed.parameters(), continued.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_closure_and_refusals() -> None:
    model = _model(0, torch.float32)
    optimizer = AdamW(model.parameters(), lr=1e-2)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = model[:3](torch.ones(2, 6)).sum()
        loss.backward()
        return loss

    assert isinstance(optimizer.step(closure), torch.Tensor)
    for option in ("amsgrad", "maximize", "capturable", "differentiable"):
        with pytest.raises(ValueError, match=option):
            AdamW(model.parameters(), **{option: True})
    with pytest.raises(ValueError, match="floats"):
        AdamW(model.parameters(), lr=torch.tensor(1e-3), capturable=False, foreach=False)
    embedding = nn.Embedding(5, 3, sparse=True)
    sparse = AdamW(embedding.parameters())
    embedding(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        sparse.step()


def test_a_training_step_never_imports_dynamo() -> None:
    """The point of the class: torch.optim.AdamW imports torch._dynamo (over a second)."""
    code = (
        "import sys, torch\n"
        "from iteach_app.config import resolve\n"
        "from iteach_app.training.framework import build_framework\n"
        "from iteach_app.training.optim import build_optimizer, build_schedule\n"
        "config = resolve(overrides={'synthetic': 'iemocap4', 'hidden_dim': 16, 'num_heads': 2})\n"
        "model = build_framework(config, {'text': 8, 'audio': 4}, 4, 'classification')\n"
        "optimizer = build_optimizer(model, config)\n"
        "schedule = build_schedule(config, 3).scheduler(optimizer)\n"
        "for p in model.parameters():\n"
        "    p.grad = torch.ones_like(p)\n"
        "optimizer.step(); schedule.step(); optimizer.zero_grad()\n"
        "optimizer.load_state_dict(optimizer.state_dict())\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
