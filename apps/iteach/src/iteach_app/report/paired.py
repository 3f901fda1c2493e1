"""Paired comparison of settings: runs matched by (data, fold, seed), the mean difference of a
score with a 95% percentile-bootstrap interval, and how many pairs each side won.

Pairing removes what the two settings share (the split, the seed's initial weights and masks),
so a difference far smaller than the seed-to-seed spread can still be told from zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class PairedDifference:
    """``setting`` minus ``reference`` over ``pairs`` matched runs for one score."""

    setting: str
    reference: str
    dataset: str
    score: str
    pairs: int
    mean: float
    low: float
    high: float
    wins: int
    losses: int

    @property
    def ties(self) -> int:
        """Pairs with equal scores."""
        return self.pairs - self.wins - self.losses

    @property
    def verdict(self) -> str:
        """ "better" / "worse" where the interval excludes 0, else "no clear difference"; a
        single pair has no interval to judge by."""
        if self.pairs < 2:
            return "one pair: no interval"
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "no clear difference"


def bootstrap_interval(
    differences: Sequence[float],
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``differences`` (fixed seed: the same table
    every time). One difference gives a zero-width interval at it."""
    values = np.asarray(differences, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("bootstrap_interval needs a non-empty 1-D sequence of differences")
    if not np.isfinite(values).all():
        raise ValueError("bootstrap_interval: a difference is NaN or infinite")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if values.size == 1:
        return float(values[0]), float(values[0])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, values.size, size=(resamples, values.size))
    means = values[picks].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def paired_difference(
    setting: dict[tuple, float],
    reference: dict[tuple, float],
    *,
    names: tuple[str, str],
    dataset: str,
    score: str,
) -> PairedDifference | None:
    """Scores keyed by (data, fold, seed) of a setting and of the reference -> their paired
    difference over the keys both hold (None where they share none)."""
    keys = sorted(set(setting) & set(reference), key=repr)
    if not keys:
        return None
    differences = [setting[k] - reference[k] for k in keys]
    low, high = bootstrap_interval(differences)
    return PairedDifference(
        setting=names[0],
        reference=names[1],
        dataset=dataset,
        score=score,
        pairs=len(keys),
        mean=float(np.mean(differences)),
        low=low,
        high=high,
        wins=sum(d > 0 for d in differences),
        losses=sum(d < 0 for d in differences),
    )


def paired_markdown(rows: Sequence[PairedDifference], digits: int = 4) -> str:
    """One line per (data, setting, score): mean difference [95% interval], pairs won/lost."""
    lines = [
        "Paired differences (setting minus reference; runs matched by data, fold and seed; "
        "95% percentile-bootstrap interval of the mean)",
        "",
        "| data | setting | reference | score | pairs | mean difference | 95% interval "
        "| won / lost / tied | verdict |",
        "|---|---|---|---|---:|---:|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.dataset} | {row.setting} | {row.reference} | {row.score} | {row.pairs} "
            f"| {row.mean:+.{digits}f} | [{row.low:+.{digits}f}, {row.high:+.{digits}f}] "
            f"| {row.wins} / {row.losses} / {row.ties} | {row.verdict} |"
        )
    return "\n".join(lines) + "\n"


def paired_csv_rows(rows: Sequence[PairedDifference]) -> list[list[str]]:
    """Header and one row per paired difference, for a CSV writer."""
    header = ["dataset", "setting", "reference", "score", "pairs", "mean", "low", "high",
              "wins", "losses", "ties"]  # fmt: skip
    body = [
        [r.dataset, r.setting, r.reference, r.score, str(r.pairs), f"{r.mean:.6f}",
         f"{r.low:.6f}", f"{r.high:.6f}", str(r.wins), str(r.losses), str(r.ties)]
        for r in rows
    ]  # fmt: skip
    return [header, *body]
