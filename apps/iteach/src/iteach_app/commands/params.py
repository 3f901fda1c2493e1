"""`iteach-app params`: parameter counts of the paper's teacher, student and every registered
baseline (a row per registration, model/registry.py) vs its Table 3."""

from __future__ import annotations

from typing import Annotated

import typer


def params(
    classes: Annotated[int, typer.Option(help="output classes of the classifier")] = 4,
) -> None:
    """Parameter counts of teacher, student and baselines at the paper's input dims, vs Table 3."""
    from iteach_app.model import paper_parameter_table
    from iteach_app.model.baselines import baseline_parameter_table

    typer.echo(paper_parameter_table(num_classes=classes))
    typer.echo("\nBaselines (inference parameters; MMIN's pre-trained teacher not counted)\n")
    typer.echo(baseline_parameter_table(num_classes=classes))
