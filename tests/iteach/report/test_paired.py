"""Paired differences between settings: bootstrap interval, pairing by (data, fold, seed), and
`iteach-app compare`'s paired table."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iteach_app.cli import app
from iteach_app.report.paired import bootstrap_interval, paired_difference


def reference_bootstrap(values: list[float], resamples: int, seed: int) -> tuple[float, float]:
    """The textbook loop: resample with replacement, take the mean, read the 2.5/97.5% points."""
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choice(values) for _ in values) for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


@pytest.mark.parametrize("seed", range(4))
def test_interval_agrees_with_a_plain_loop(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.gauss(0.01, 0.02) for _ in range(rng.randint(3, 15))]
    low, high = bootstrap_interval(values, resamples=20_000, seed=seed)
    ref_low, ref_high = reference_bootstrap(values, 20_000, seed + 100)
    spread = statistics.stdev(values) / len(values) ** 0.5
    assert abs(low - ref_low) < 0.15 * spread
    assert abs(high - ref_high) < 0.15 * spread
    assert low < statistics.fmean(values) < high
    assert bootstrap_interval(values, seed=seed) == bootstrap_interval(values, seed=seed)


def test_interval_edge_cases() -> None:
    assert bootstrap_interval([0.2]) == (0.2, 0.2)
    one = paired_difference({("d", 1, 0): 0.7}, {("d", 1, 0): 0.6}, names=("a", "b"),
                            dataset="d", score="avg")  # fmt: skip
    assert one is not None
    assert one.verdict == "one pair: no interval"
    low, _high = bootstrap_interval([0.01, 0.02, 0.03, 0.015])
    assert low > 0
    for bad in ([], [float("nan"), 1.0]):
        with pytest.raises(ValueError, match="bootstrap_interval"):
            bootstrap_interval(bad)


def test_pairs_only_shared_keys_and_counts_wins() -> None:
    setting = {("d", 1, 0): 0.7, ("d", 1, 1): 0.6, ("d", 2, 0): 0.8, ("d", 3, 0): 0.5}
    reference = {("d", 1, 0): 0.65, ("d", 1, 1): 0.6, ("d", 2, 0): 0.9}
    row = paired_difference(setting, reference, names=("a", "b"), dataset="d", score="avg")
    assert row is not None
    assert row.pairs == 3
    assert (row.wins, row.losses, row.ties) == (1, 1, 1)
    assert row.mean == pytest.approx((0.05 + 0.0 - 0.1) / 3)
    assert row.verdict == "no clear difference"
    assert paired_difference({("x", 1, 0): 1.0}, reference, names=("a", "b"), dataset="d",
                             score="avg") is None  # fmt: skip


def _fake_run(root: Path, name: str, framework: str, dialogues: int, seed: int, avg: float):
    """A finished run folder with just what compare reads (config.toml + ume.json)."""
    from iteach_app.config import resolve
    from iteach_app.training.run_folder import RunFolder
    from missing_modality import UMEResult

    overrides = {"synthetic": "iemocap4", "synthetic_dialogues": dialogues,
                 "framework": framework, "seed": seed}  # fmt: skip
    config = resolve(overrides=overrides, source="test")
    folder = RunFolder(root / name)
    folder.path.mkdir(parents=True)
    folder.write_config(config)
    per_rate = [{"waf": avg + 0.05}, {"waf": avg - 0.05}]
    result = UMEResult(rates=(0.0, 0.5), per_rate=per_rate, realised=(0.0, 0.5))
    (folder.path / "ume.json").write_text(result.to_json())
    return folder.path


def test_compare_writes_the_paired_table(tmp_path: Path) -> None:
    from iteach_app.training.run_folder import RunFolder

    runs = []
    for fold in (20, 30):  # two data sets (synthetic sizes), three seeds each
        for seed in (0, 1, 2):
            gain = 0.02 + 0.001 * seed
            runs.append(_fake_run(tmp_path, f"its-{fold}-{seed}", "its", fold, seed, 0.6 + gain))
            runs.append(_fake_run(tmp_path, f"pre-{fold}-{seed}", "pre", fold, seed, 0.6))
    try:
        RunFolder(runs[0]).read_ume()
    except Exception as error:  # the fake ume.json must be what the reader takes
        pytest.fail(f"fake run unreadable: {error}")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "paired.md").read_text()
    line = next(row for row in text.splitlines() if "UME average" in row)
    assert "framework=its" in line
    assert "framework=pre" in line
    assert "| 3 |" in line
    assert "3 / 0 / 0" in line
    assert "better" in line
    assert "+0.0210" in line
    rows = (out / "paired.csv").read_text().splitlines()
    assert rows[0].startswith("dataset,setting,reference")
    assert len(rows) == 5
    bad = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(out), "--overwrite",
                                   "--reference", "nothing-like-this"])  # fmt: skip
    assert bad.exit_code != 0
    assert "--reference" in bad.output


def test_labels_pool_folds_and_data_but_not_a_repeated_run(tmp_path: Path) -> None:
    runs, labels = [], []
    for size in (20, 30):
        for seed in (0, 1):
            for framework, label in (("its", "A"), ("pre", "B")):
                name = f"{framework}-{size}-{seed}"
                runs.append(_fake_run(tmp_path, name, framework, size, seed, 0.5 + 0.01 * seed))
                labels += ["--label", label]
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", *map(str, runs), *labels, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| A | 4 |" in (out / "compare.md").read_text()
    twice = [*map(str, runs), str(runs[0])]
    bad = CliRunner().invoke(
        app, ["compare", *twice, *labels, "--label", "A", "--out", str(out), "--overwrite"]
    )
    assert bad.exit_code != 0
    assert "appears twice" in bad.output
