"""The demo's plumbing on a tiny version of its settings: two runs, a table, a plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from iteach_app.commands import demo


def test_demo_writes_both_runs_the_table_and_the_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_overrides: dict
) -> None:
    monkeypatch.setattr(demo, "DEMO_SETTINGS", {**tiny_overrides, "epochs": 1})
    result = demo.run_demo(tmp_path / "demo", verbose=False)
    assert list(result.results) == list(demo.MODELS)
    for model in demo.MODELS.values():
        assert (tmp_path / "demo" / model["framework"] / "ume.json").is_file()
    assert (tmp_path / "demo" / "ume.png").stat().st_size > 1000
    compare = (tmp_path / "demo" / "compare.md").read_text()
    for label in demo.MODELS:
        assert label in compare
    assert "waf:" in result.table
    assert "acc:" in result.table
    again = demo.run_demo(tmp_path / "demo", verbose=False)  # reruns replace the old runs
    assert again.table == result.table


def test_demo_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "its").mkdir()
    (tmp_path / "its" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an iteach-app run"):
        demo.run_demo(tmp_path, verbose=False)
