"""The demo's plumbing on a tiny version of its settings: runs per seed, tables, paired
differences, a plot."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.commands import demo


def test_demo_writes_every_run_the_tables_and_the_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_overrides: dict
) -> None:
    monkeypatch.setattr(demo, "DEMO_SETTINGS", {**tiny_overrides, "epochs": 1})
    result = demo.run_demo(tmp_path / "demo", seeds=(0, 1), verbose=False)
    assert list(result.results) == list(demo.MODELS)
    assert all(len(runs) == 2 for runs in result.results.values())
    for model in demo.MODELS.values():
        for seed in (0, 1):
            assert (tmp_path / "demo" / f"{model['framework']}-seed{seed}" / "ume.json").is_file()
    assert (tmp_path / "demo" / "ume.png").stat().st_size > 1000
    compare = (tmp_path / "demo" / "compare.md").read_text()
    for label in demo.MODELS:
        assert label in compare
    assert "UME waf" in result.table
    assert "UME acc" in result.table
    # ITEACH-Net minus PRE, paired by seed, for the UME average and complete data.
    assert [row.score for row in result.paired] == ["UME average (waf)", "complete data (waf)"]
    assert all(row.pairs == 2 for row in result.paired)
    assert all(row.reference == demo.PRE_LABEL for row in result.paired)
    its = [r.average["waf"] for r in result.results[next(iter(demo.MODELS))]]
    pre = [r.average["waf"] for r in result.results[demo.PRE_LABEL]]
    want = sum(a - b for a, b in zip(its, pre, strict=True)) / 2
    assert result.paired[0].mean == pytest.approx(want)
    assert "Paired differences" in compare
    again = demo.run_demo(tmp_path / "demo", seeds=(0, 1), verbose=False)  # reruns replace runs
    assert again.table == result.table


def test_demo_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "its-seed0").mkdir()
    (tmp_path / "its-seed0" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an iteach-app run"):
        demo.run_demo(tmp_path, seeds=(0,), verbose=False)


def test_demo_seeds_option_is_checked() -> None:
    result = CliRunner().invoke(app, ["demo", "--seeds", "0,0"])
    assert result.exit_code != 0
    assert "distinct" in result.output
