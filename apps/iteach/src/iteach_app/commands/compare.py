"""`iteach-app compare RUN [RUN ...]`: one UME table (paper Table 4 layout) and one plot, and
the paired differences between settings (runs matched by data, fold and seed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

COMPARE_FILES = ("compare.md", "compare.csv", "compare.png", "paired.md", "paired.csv")


def compare(
    runs: Annotated[list[Path], typer.Argument(help="finished run folders")],
    out: Annotated[Path, typer.Option(help="folder for compare.* and paired.*")] = Path("compare"),
    label: Annotated[
        list[str] | None, typer.Option(help="one label per run (runs of one label are pooled)")
    ] = None,
    metric: Annotated[
        str | None, typer.Option(help="metric (default: waf, or binary_waf for regression)")
    ] = None,
    title: Annotated[str, typer.Option(help="plot title (default: UME on <dataset>)")] = "",
    reference: Annotated[
        str | None,
        typer.Option(
            help="setting the others are paired against (a label or a unique part of one; "
            "default: the framework=pre setting, else the first run's)"
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace compare files already in --out")] = False,
) -> None:
    """Runs differing only by seed are one row (mean ± std); a column per rate, average, decline.
    Where the runs hold several settings, each is paired with the reference by (data, fold,
    seed): mean difference, 95% bootstrap interval and pairs won, for the UME average and the
    complete-data score."""
    from iteach_app.io import atomic_write_text
    from iteach_app.output_guard import check_output_folder
    from iteach_app.report.compare import (
        compare_markdown,
        default_metric,
        load_groups,
        load_records,
        paired_comparison,
        paired_csv,
        write_comparison,
    )
    from iteach_app.report.paired import paired_markdown

    check_output_folder(out, COMPARE_FILES, overwrite=overwrite)
    groups = load_groups(runs, label or ())
    chosen = metric or default_metric(groups)
    paths = write_comparison(groups, out, metric, title)
    typer.echo(compare_markdown(groups, chosen))
    rows = paired_comparison(load_records(runs, label or ()), chosen, reference)
    if rows:
        text = paired_markdown(rows)
        paths["paired.md"] = out / "paired.md"
        paths["paired.csv"] = out / "paired.csv"
        atomic_write_text(paths["paired.md"], text)
        atomic_write_text(paths["paired.csv"], paired_csv(rows))
        typer.echo(text)
    typer.echo(f"written: {', '.join(str(p) for p in paths.values())}")
