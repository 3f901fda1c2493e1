"""`iteach-app params`: parameter counts of the paper's teacher and student vs its Table 3."""

from __future__ import annotations

from typing import Annotated

import typer


def params(
    classes: Annotated[int, typer.Option(help="output classes of the classifier")] = 4,
) -> None:
    """Parameter counts of teacher and student at the paper's input dims, vs its Table 3."""
    from iteach_app.model import paper_parameter_table

    typer.echo(paper_parameter_table(num_classes=classes))
