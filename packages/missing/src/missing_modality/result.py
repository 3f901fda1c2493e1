"""UMEResult: the metrics of one model (UME) or one model per rate (IME) at each missing rate."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from missing_modality.plot import plot_ume

METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("waf", "acc"),
    "regression": ("binary_waf", "mae", "acc2"),
}
FORMAT = "missing_modality.UMEResult"


@dataclass
class UMEResult:
    """Per-rate metrics with the realised missing rate beside each requested one.

    ``per_rate[k]`` maps metric name -> value at ``rates[k]``; ``realised[k]`` is the missing
    fraction the masks actually had over all valid utterances; ``confusion[k]`` (classification)
    is the ``(C, C)`` confusion matrix (rows = true class) as nested lists.
    """

    rates: tuple[float, ...]
    per_rate: list[dict[str, float]]
    realised: tuple[float, ...]
    task: str = "classification"
    confusion: list[list[list[int]]] | None = None
    protocol: str = "UME"
    seed: int = 0
    keep_at_least: int = 1
    modalities: tuple[str, ...] = field(default_factory=tuple)
    num_utterances: int = 0

    def __post_init__(self) -> None:
        self.rates = tuple(float(rate) for rate in self.rates)
        self.realised = tuple(float(value) for value in self.realised)
        self.modalities = tuple(self.modalities)
        if self.task not in METRICS:
            raise ValueError(f"task must be one of {sorted(METRICS)}, got {self.task!r}")
        if not self.rates or not len(self.rates) == len(self.per_rate) == len(self.realised):
            raise ValueError(
                f"rates ({len(self.rates)}), per_rate ({len(self.per_rate)}) and realised "
                f"({len(self.realised)}) must be non-empty and of the same length"
            )
        if self.confusion is not None and len(self.confusion) != len(self.rates):
            raise ValueError("confusion must hold one matrix per rate")

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metric names, in report order."""
        return tuple(self.per_rate[0])

    def curve(self, metric: str) -> list[float]:
        """The values of ``metric`` at each rate."""
        if metric not in self.per_rate[0]:
            raise ValueError(f"unknown metric {metric!r}; this result holds {list(self.metrics)}")
        return [row[metric] for row in self.per_rate]

    @property
    def average(self) -> dict[str, float]:
        """Mean of each metric over the rates."""
        return {name: sum(self.curve(name)) / len(self.rates) for name in self.metrics}

    @property
    def decline(self) -> dict[str, float]:
        """Each metric at the lowest rate (normally 0) minus at the highest rate."""
        return {name: self.curve(name)[0] - self.curve(name)[-1] for name in self.metrics}

    def to_dict(self) -> dict:
        """A JSON-ready dict (average and decline included for readers; they are derived)."""
        return {
            "format": FORMAT,
            "version": 1,
            "protocol": self.protocol,
            "task": self.task,
            "seed": self.seed,
            "keep_at_least": self.keep_at_least,
            "modalities": list(self.modalities),
            "num_utterances": self.num_utterances,
            "rates": list(self.rates),
            "realised": list(self.realised),
            "per_rate": [dict(row) for row in self.per_rate],
            "average": self.average,
            "decline": self.decline,
            "confusion": self.confusion,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> UMEResult:
        """Rebuild a result from ``to_dict()`` output."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a UMEResult document: 'format' is {data.get('format')!r}")
        required = ("rates", "per_rate", "realised", "task")
        absent = [key for key in required if key not in data]
        if absent:
            raise ValueError(f"UMEResult document lacks the keys {absent}")
        return cls(
            rates=tuple(data["rates"]),
            per_rate=[dict(row) for row in data["per_rate"]],
            realised=tuple(data["realised"]),
            task=data["task"],
            confusion=data.get("confusion"),
            protocol=data.get("protocol", "UME"),
            seed=data.get("seed", 0),
            keep_at_least=data.get("keep_at_least", 1),
            modalities=tuple(data.get("modalities", ())),
            num_utterances=data.get("num_utterances", 0),
        )

    def to_json(self, indent: int | None = 2) -> str:
        """The result as JSON text (floats round-trip exactly)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> UMEResult:
        """Reload a result from ``to_json()`` text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"UMEResult.from_json got invalid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ValueError("UMEResult.from_json expects a JSON object")
        return cls.from_dict(data)

    def to_csv(self) -> str:
        """Rows ``rate, realised_rate, metrics...`` per rate, then ``average`` and ``decline``."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["rate", "realised_rate", *self.metrics])
        for rate, realised, row in zip(self.rates, self.realised, self.per_rate, strict=True):
            writer.writerow([repr(rate), repr(realised), *(repr(row[m]) for m in self.metrics)])
        for label, summary in (("average", self.average), ("decline", self.decline)):
            writer.writerow([label, "", *(repr(summary[m]) for m in self.metrics)])
        return buffer.getvalue()

    def to_markdown(self, digits: int = 4) -> str:
        """Markdown table: one row per rate with its realised rate, then average and decline."""
        header = ["rate", "realised", *self.metrics]
        lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
        for rate, realised, row in zip(self.rates, self.realised, self.per_rate, strict=True):
            cells = [_rate_text(rate), f"{realised:.{digits}f}"]
            cells += [f"{row[m]:.{digits}f}" for m in self.metrics]
            lines.append("| " + " | ".join(cells) + " |")
        for label, summary in (("average", self.average), ("decline", self.decline)):
            cells = [label, "", *(f"{summary[m]:.{digits}f}" for m in self.metrics)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def plot(
        self, path: str | Path, *, metric: str | None = None, label: str | None = None
    ) -> Path:
        """Save the metric-vs-missing-rate curve to ``path`` (needs the ``plot`` extra)."""
        return plot_ume({label or self.protocol: self}, path, metric=metric)


def compare_markdown(
    results: Mapping[str, UMEResult], metric: str | None = None, digits: int = 4
) -> str:
    """Side-by-side markdown: a row per named result, a column per rate, average, decline."""
    if not results:
        raise ValueError("compare_markdown needs at least one named result")
    first = next(iter(results.values()))
    metric = metric or first.metrics[0]
    rates = sorted({rate for result in results.values() for rate in result.rates})
    header = ["model", *(_rate_text(rate) for rate in rates), "average", "decline"]
    lines = [
        f"{metric}:",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
    ]
    for name, result in results.items():
        values = dict(zip(result.rates, result.curve(metric), strict=True))
        cells = [f"{values[rate]:.{digits}f}" if rate in values else "–" for rate in rates]
        cells += [f"{result.average[metric]:.{digits}f}", f"{result.decline[metric]:.{digits}f}"]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines) + "\n"


def _rate_text(rate: float) -> str:
    return repr(round(rate, 6))
