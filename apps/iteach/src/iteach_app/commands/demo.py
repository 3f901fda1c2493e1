"""`iteach-app demo`: ITEACH-Net vs the PRE baseline on built-in synthetic IEMOCAP-like data."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iteach_app.config import TrainConfig, resolve

if TYPE_CHECKING:  # the torch-based modules load inside the commands: --help stays fast
    from rich.console import Console

    from missing_modality import UMEResult

# Scaled down so both runs take about a minute on 2 CPU cores: 3 synthetic modalities (text
# strongest), short conversations, a narrow model, 12 epochs; the rest is the paper's recipe.
# One torch thread: on a shared machine two threads on tiny tensors are several times slower.
DEMO_SETTINGS: dict[str, object] = {
    "synthetic": "iemocap4",
    "synthetic_dialogues": 60,
    "synthetic_dims": {"text": 32, "audio": 16, "video": 32},
    "synthetic_max_length": 30,
    "hidden_dim": 32,
    "num_heads": 4,
    "epochs": 12,
    "batch_size": 8,
    "lr": 2e-3,
    "router_lr": 5e-3,
    "device": "cpu",
    "threads": 1,
    "checkpoint_every": 0,
    "mask_schedule": "random",
    "preset": "paper",
}
# The demo's PRE is the NAS student trained alone (ITS minus its teacher), not the paper's
# attention-only PRE: it isolates what the inverted teacher adds to the same student.
MODELS = {
    "ITEACH-Net (ITS, attention teacher / NAS student)": {"framework": "its"},
    "PRE (NAS student alone)": {"framework": "pre", "student": "nas"},
}


@dataclass
class DemoResult:
    """Both UME results, the side-by-side table and where the outputs went."""

    results: dict[str, UMEResult]
    table: str
    out: Path


def demo_config(model: dict, *, seed: int = 0, epochs: int | None = None) -> TrainConfig:
    """The demo's config for one of ``MODELS``."""
    overrides = {**DEMO_SETTINGS, **model, "seed": seed}
    if epochs is not None:
        overrides["epochs"] = epochs
    return resolve(overrides=overrides, source="demo")


def run_demo(
    out: str | Path = "runs/demo",
    *,
    seed: int = 0,
    epochs: int | None = None,
    verbose: bool = True,
    console: Console | None = None,
) -> DemoResult:
    """Train ITEACH-Net and PRE on the same synthetic data; write both runs, the table, the plot."""
    from iteach_app.data import build_splits
    from iteach_app.io import atomic_write_text
    from iteach_app.training.trainer import Trainer
    from missing_modality import compare_markdown, plot_ume

    out = Path(out)
    data = build_splits(demo_config(MODELS[next(iter(MODELS))], seed=seed, epochs=epochs))
    results: dict[str, UMEResult] = {}
    for label, model in MODELS.items():
        config = demo_config(model, seed=seed, epochs=epochs)
        run_dir = out / config.framework
        _clear_previous(run_dir)
        trainer = Trainer(config, run_dir, data=data, verbose=verbose, console=console, title=label)
        result = trainer.fit().ume
        assert result is not None  # single process: rank 0
        results[label] = result
    table = "\n\n".join(compare_markdown(results, metric) for metric in ("waf", "acc"))
    header = (
        "# Demo: ITEACH-Net vs PRE on synthetic IEMOCAP-like data (4 classes, text / audio / "
        "video)\n\nUME on the test split; each model selected on the validation split.\n\n"
    )
    atomic_write_text(out / "compare.md", header + table)
    plot_ume(results, out / "ume.png", title="synthetic IEMOCAP-like, UME (test)")
    return DemoResult(results, table, out)


def _clear_previous(run_dir: Path) -> None:
    """Remove an earlier demo run in ``run_dir`` (only a folder that holds our config.toml)."""
    from iteach_app.training.run_folder import RunFolder

    if RunFolder(run_dir).config_toml.is_file():
        shutil.rmtree(run_dir)
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise FileExistsError(
            f"{run_dir} exists and is not an iteach-app run; choose another --out"
        )


def demo(
    out: Annotated[Path, typer.Option(help="where the two runs, table and plot go")] = Path(
        "runs/demo"
    ),
    epochs: Annotated[int | None, typer.Option(help="epochs per model (default 12)")] = None,
    seed: Annotated[int, typer.Option(help="seed of data, models and masks", min=0)] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Train ITEACH-Net and the PRE baseline on synthetic data; print their UME side by side."""
    from rich.console import Console

    console = Console(stderr=True, soft_wrap=True)
    result = run_demo(out, seed=seed, epochs=epochs, verbose=not quiet, console=console)
    typer.echo(
        "\nUME on the test split (synthetic IEMOCAP-like data; selected on validation)\n\n"
        f"{result.table}\ntable: {result.out / 'compare.md'}   plot: {result.out / 'ume.png'}"
    )
