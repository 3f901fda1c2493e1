"""`iteach-app demo`: ITEACH-Net vs the PRE baseline on built-in synthetic IEMOCAP-like data."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iteach_app.config import TrainConfig, resolve

if TYPE_CHECKING:  # the torch-based modules load inside the commands: --help stays fast
    from rich.console import Console

    from iteach_app.report.paired import PairedDifference
    from missing_modality import UMEResult

# Scaled down so each run takes well under a minute on 2 CPU cores: 3 synthetic modalities (text
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
    "distill_distance": "cosine",  # the default preset's distillation, scaled to 12 epochs
    "teacher_epochs": 4,
}
# The demo's PRE is the NAS student trained alone (ITS minus its teacher), not the paper's
# attention-only PRE: it isolates what the inverted teacher adds to the same student.
PRE_LABEL = "PRE (NAS student alone)"
MODELS = {
    "ITEACH-Net (ITS, attention teacher / NAS student)": {"framework": "its"},
    PRE_LABEL: {"framework": "pre", "student": "nas"},
}


DEFAULT_SEEDS = (0, 1, 2)


@dataclass
class DemoResult:
    """Every run's UME result per model (one per seed), the pooled tables, the paired
    differences (ITEACH-Net minus PRE, matched by seed) and where the outputs went."""

    results: dict[str, list[UMEResult]]
    table: str
    paired: list[PairedDifference]
    out: Path

    @property
    def paired_table(self) -> str:
        """The paired differences as markdown."""
        from iteach_app.report.paired import paired_markdown

        return paired_markdown(self.paired)


def demo_config(model: dict, *, seed: int = 0, epochs: int | None = None) -> TrainConfig:
    """The demo's config for one of ``MODELS``."""
    overrides = {**DEMO_SETTINGS, **model, "seed": seed}
    if epochs is not None:
        overrides["epochs"] = epochs
    return resolve(overrides=overrides, source="demo")


def run_demo(
    out: str | Path = "runs/demo",
    *,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    epochs: int | None = None,
    verbose: bool = True,
    console: Console | None = None,
) -> DemoResult:
    """Train ITEACH-Net and PRE on the same synthetic data, once per seed; write every run, the
    pooled table (mean ± std over seeds), the paired differences and the plot."""
    from iteach_app.data import build_splits
    from iteach_app.io import atomic_write_text
    from iteach_app.report.audit_cache import audit_lines
    from iteach_app.report.compare import (
        compare_markdown,
        load_groups,
        load_records,
        paired_comparison,
        plot_compare,
    )
    from iteach_app.report.paired import paired_markdown
    from iteach_app.training.trainer import Trainer

    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {list(seeds)}")
    out = Path(out)
    runs: list[Path] = []
    labels: list[str] = []
    results: dict[str, list[UMEResult]] = {label: [] for label in MODELS}
    for seed in seeds:
        data = build_splits(demo_config(MODELS[next(iter(MODELS))], seed=seed, epochs=epochs))
        for label, model in MODELS.items():
            config = demo_config(model, seed=seed, epochs=epochs)
            run_dir = out / f"{config.framework}-seed{seed}"
            _clear_previous(run_dir)
            trainer = Trainer(
                config,
                run_dir,
                data=data,
                verbose=verbose,
                console=console,
                title=label,
                audit=audit_lines,
            )
            result = trainer.fit().ume
            assert result is not None  # single process: rank 0
            results[label].append(result)
            runs.append(run_dir)
            labels.append(label)
    groups = load_groups(runs, labels)
    table = "\n\n".join(compare_markdown(groups, metric) for metric in ("waf", "acc"))
    paired = paired_comparison(load_records(runs, labels), "waf", reference=PRE_LABEL)
    header = (
        "# Demo: ITEACH-Net vs PRE on synthetic IEMOCAP-like data (4 classes, text / audio / "
        f"video), seeds {', '.join(map(str, seeds))}\n\nUME on the test split; each model "
        "selected on the validation split.\n\n"
    )
    atomic_write_text(out / "compare.md", header + table + "\n" + paired_markdown(paired))
    plot_compare(groups, "waf", out / "ume.png", title="synthetic IEMOCAP-like, UME (test)")
    return DemoResult(results, table, paired, out)


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
    out: Annotated[Path, typer.Option(help="where the runs, tables and plot go")] = Path(
        "runs/demo"
    ),
    epochs: Annotated[int | None, typer.Option(help="epochs per model (default 12)")] = None,
    seeds: Annotated[
        str, typer.Option(help="comma-separated seeds; each trains both models")
    ] = ",".join(map(str, DEFAULT_SEEDS)),
    seed: Annotated[
        int | None, typer.Option(help="one seed only (same as --seeds N)", min=0)
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Train ITEACH-Net and the PRE baseline on synthetic data over several seeds; print their
    UME side by side and the paired difference (ITEACH-Net minus PRE, matched by seed)."""
    from rich.console import Console

    chosen = [seed] if seed is not None else _parse_seeds(seeds)
    console = Console(stderr=True, soft_wrap=True)
    result = run_demo(out, seeds=chosen, epochs=epochs, verbose=not quiet, console=console)
    typer.echo(
        "\nUME on the test split (synthetic IEMOCAP-like data; selected on validation)\n\n"
        f"{result.table}\n{result.paired_table}\n"
        f"table: {result.out / 'compare.md'}   plot: {result.out / 'ume.png'}"
    )


def _parse_seeds(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"--seeds takes integers like 0,1,2, got {text!r}") from None
    if not values or any(v < 0 for v in values) or len(set(values)) != len(values):
        raise typer.BadParameter(f"--seeds takes distinct integers >= 0, got {text!r}")
    return values
