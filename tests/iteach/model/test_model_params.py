"""Parameter counts at the paper's input dims against the paper's Table 3."""

from __future__ import annotations

import pytest

from iteach_app.model import (
    PAPER_DIMS,
    PAPER_PARAMETERS,
    count_parameters,
    create_model,
    paper_parameter_table,
)

TOLERANCE = 0.15  # documented in iteach_app.model.parameters


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_parameter_count_close_to_paper(name: str) -> None:
    count = count_parameters(create_model(f"iteach_{name}", PAPER_DIMS, 4))
    assert abs(count / PAPER_PARAMETERS[name] - 1) <= TOLERANCE


def test_paper_parameter_table_lists_both() -> None:
    table = paper_parameter_table()
    assert "| teacher |" in table
    assert "| student |" in table
    assert "2.19M" in table
    assert "3.88M" in table
