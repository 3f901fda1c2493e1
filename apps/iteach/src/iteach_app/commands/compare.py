"""`iteach-app compare RUN [RUN ...]`: one UME table (paper Table 4 layout) and one plot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

COMPARE_FILES = ("compare.md", "compare.csv", "compare.png")


def compare(
    runs: Annotated[list[Path], typer.Argument(help="finished run folders")],
    out: Annotated[Path, typer.Option(help="folder for compare.md / .csv / .png")] = Path(
        "compare"
    ),
    label: Annotated[
        list[str] | None, typer.Option(help="one label per run (runs of one label are pooled)")
    ] = None,
    metric: Annotated[
        str | None, typer.Option(help="metric (default: waf, or binary_waf for regression)")
    ] = None,
    title: Annotated[str, typer.Option(help="plot title (default: UME on <dataset>)")] = "",
    overwrite: Annotated[bool, typer.Option(help="replace compare files already in --out")] = False,
) -> None:
    """Runs differing only by seed are one row (mean ± std); a column per rate, average, decline."""
    from iteach_app.output_guard import check_output_folder
    from iteach_app.report.compare import (
        compare_markdown,
        default_metric,
        load_groups,
        write_comparison,
    )

    check_output_folder(out, COMPARE_FILES, overwrite=overwrite)
    groups = load_groups(runs, label or ())
    paths = write_comparison(groups, out, metric, title)
    typer.echo(compare_markdown(groups, metric or default_metric(groups)))
    typer.echo(f"written: {', '.join(str(p) for p in paths.values())}")
