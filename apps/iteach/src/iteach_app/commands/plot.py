"""`iteach-app plot RUN`: the paper's figures for a finished run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from iteach_app.config import ConfigError

FIGURE_FILES = ("ume.png", "training.png", "confusion.png", "ecce_bias.png", "tsne.png")


def plot_run(
    run_dir: str | Path,
    *,
    out: str | Path | None = None,
    conversation: int = 0,
    device: str = "auto",
    batch_size: int = 16,
    tsne_rate: float = 0.0,
    show_progress: bool = False,
) -> list[Path]:
    """UME curve, training curves (losses, distilled hidden-state norms, gradient norms),
    confusion matrices per rate, ECCE bias heatmap (Fig. 5) and t-SNE (Fig. 9, with modalities
    missing at `tsne_rate`), titled by model and dataset, classes by name; a progress bar over
    these steps on stderr where `show_progress`."""
    from iteach_app.progress import progress_bar

    with progress_bar(show_progress) as bar:
        task = bar.add_task("loading the run", total=5)

        def step(description: str) -> None:
            bar.update(task, advance=1, description=description)

        return _plot_run(run_dir, out, conversation, device, batch_size, tsne_rate, step)


def _plot_run(
    run_dir: str | Path,
    out: str | Path | None,
    conversation: int,
    device: str,
    batch_size: int,
    tsne_rate: float,
    step: Callable[[str], None],
) -> list[Path]:
    from iteach_app.report import figures
    from iteach_app.report.labels import data_label, figure_title, model_label
    from iteach_app.report.training_curves import plot_training_curves
    from iteach_app.training.evaluation import Evaluator, load_trained
    from iteach_app.training.run_folder import RunFolder, protocol_note
    from missing_modality import plot_ume

    folder = RunFolder(run_dir)
    out = Path(out) if out is not None else folder.figures
    result = folder.read_ume()
    config, data, model, target = load_trained(run_dir, device=device)
    evaluator = Evaluator.for_run(config, data, target, batch_size=batch_size)
    step("UME curve")
    title, names = figure_title(config), data.dataset.label_names or None
    ume_title = f"UME on {data_label(config)}\n{protocol_note(config)}"
    written = [plot_ume({model_label(config): result}, out / "ume.png", title=ume_title)]
    history = folder.read_history()
    if history:
        written.append(plot_training_curves(history, out / "training.png", title=title))
    step("confusion matrices")
    if result.confusion is not None:
        written.append(
            figures.plot_confusion_per_rate(result, out / "confusion.png", names, title=title)
        )
    if not 0 <= conversation < len(data.test):
        raise ConfigError(
            f"--conversation {conversation} is out of range: the test split has {len(data.test)}"
        )
    if not model.student.exposes_hidden_states:
        typer.echo(
            f"note: {config.model} is a baseline: the ECCE heatmap and the t-SNE of ITEACH-Net's "
            "fused hidden states do not apply; skipped",
            err=True,
        )
        return written
    step("ECCE heatmap")
    batch = evaluator.batches(data.test.subset([conversation]))[0]
    if model.student.ecce_mode != "none":
        written.append(
            figures.plot_ecce_heatmap(model.student, batch, out / "ecce_bias.png", title=title)
        )
    step("t-SNE of the hidden states")
    tsne = figures.plot_tsne(
        model.student,
        evaluator.batches(data.test),
        out / "tsne.png",
        seed=config.seed,
        class_names=names,
        missing_rate=tsne_rate,
        mask_seed=config.eval_seed,
        keep_at_least=evaluator.keep_at_least,
        title=title,
    )
    written.append(tsne)
    return written


def plot(
    run: Annotated[Path, typer.Argument(help="a finished run folder")],
    out: Annotated[Path | None, typer.Option(help="figure folder (default RUN/figures)")] = None,
    conversation: Annotated[int, typer.Option(help="test conversation for the ECCE heatmap")] = 0,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:N or auto")] = None,
    tsne_rate: Annotated[
        float, typer.Option(help="missing rate of the t-SNE's inputs (UME masks)", min=0, max=0.99)
    ] = 0.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    overwrite: Annotated[
        bool, typer.Option(help="replace figures already in --out (never a run folder's files)")
    ] = False,
) -> None:
    """The paper's figures: UME curve, training curves, confusion per rate, ECCE heatmap (Fig. 5),
    t-SNE (Fig. 9)."""
    from iteach_app.output_guard import check_output_folder
    from iteach_app.training.run_folder import RunFolder

    if out is not None and out.resolve() != RunFolder(run).figures.resolve():
        check_output_folder(out, FIGURE_FILES, overwrite=overwrite)
    paths = plot_run(
        run,
        out=out,
        conversation=conversation,
        device=device or "auto",
        tsne_rate=tsne_rate,
        show_progress=not quiet,
    )
    for path in paths:
        typer.echo(str(path))
