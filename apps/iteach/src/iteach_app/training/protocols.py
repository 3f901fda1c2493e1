"""The paper's two other protocols beside UME, as runs of the usual trainer:

- IME (Table 5): one model per training missing rate (``mask_schedule = constant:R`` for each R
  of ``eval_rates``), each tested at its own rate on UME's fixed test masks;
- Figure 8: one model trained only at rate 0.7 (``constant:0.7``), tested at every rate (its UME).

Each trained model is a normal run folder (validation selection, checkpoints, resume).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from iteach_app.config import TrainConfig
from iteach_app.config.validate import validate
from iteach_app.data import DataBundle
from iteach_app.training.evaluation import Evaluator, load_trained
from iteach_app.training.run_folder import RunFolder
from iteach_app.training.trainer import Trainer
from missing_modality import UMEResult

PROTOCOLS = ("ime", "fig8")
FIG8_RATE = 0.7


def protocol_configs(config: TrainConfig, protocol: str) -> dict[float, TrainConfig]:
    """{training rate: config} of ``protocol`` (ime: every eval rate; fig8: 0.7 alone)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {protocol!r}")
    rates = list(config.eval_rates) if protocol == "ime" else [FIG8_RATE]
    return {
        rate: validate(dataclasses.replace(config, mask_schedule=f"constant:{rate:g}"))
        for rate in rates
    }


def run_protocol(
    config: TrainConfig,
    protocol: str,
    out: str | Path,
    *,
    data: DataBundle | None = None,
    resume: bool = False,
    verbose: bool = True,
    title: str | None = None,
    audit: Callable[[DataBundle], Sequence[str]] | None = None,
) -> tuple[UMEResult, dict[float, Path]]:
    """Train the protocol's models into ``out/rate<R>`` and return its result on the test split
    (IME: each model at its rate; fig8: the 0.7 model's UME) and the run folders. ``title`` and
    ``audit``: as `Trainer`'s, for every model."""
    out = Path(out)
    runs: dict[float, Path] = {}
    for rate, rate_config in protocol_configs(config, protocol).items():
        run_dir = out / f"rate{rate:g}"
        runs[rate] = run_dir
        if resume and RunFolder(run_dir).ume["json"].is_file():
            continue
        trainer = Trainer(
            rate_config, run_dir, data=data, resume=resume, verbose=verbose, title=title,
            audit=audit,
        )  # fmt: skip
        data = trainer.data
        trainer.fit()
    if protocol == "fig8":
        return RunFolder(runs[FIG8_RATE]).read_ume(), runs
    return ime_result(runs, config), runs


def ime_result(runs: dict[float, Path], config: TrainConfig) -> UMEResult:
    """IME on the test split: the model trained at rate R tested at R, on UME's fixed masks,
    with the run's `Evaluator` (its batch limits and precision included)."""
    if not runs:
        raise ValueError("IME needs at least one trained run (one per rate)")
    students = {}
    for rate, run_dir in runs.items():
        _, data, model, device = load_trained(run_dir, device=config.device)
        students[rate] = model.student
    return Evaluator.for_run(config, data, device).ime(students, data.test)
