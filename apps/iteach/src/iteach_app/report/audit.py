"""Modality audit: per modality, its width, scale and a quick linear probe's validation score
against the majority class, with warnings for modalities at chance or at a foreign scale.

The probe (scikit-learn LogisticRegression, or Ridge for regression datasets, on standardised
utterance vectors) is fit on the training split only and scored on the validation split (the
test split when there is no validation split); it says how much each modality carries on its
own before any model is trained. "At chance" means not better than the larger of the
majority-class score and the mean score of guesses drawn from the training label distribution
(on balanced classes the WAF of a random guess is well above that of the majority class).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np

from erc_data import ERCDataset
from iteach_app.data import DataBundle
from missing_modality import binary_weighted_f1, weighted_f1

CHANCE_MARGIN = 0.05  # a probe must beat the chance score by more than this
SCALE_RATIO = 10.0  # mean norms further apart than this are flagged
PROBE_ROWS = 20000  # training rows the probe sees at most (a seeded subsample beyond)


@dataclass
class ModalityAudit:
    """One modality: width, mean L2 norm of its observed rows, range of its per-dim std, and
    the probe's score (WAF, or binary WAF for regression) on the scoring split."""

    name: str
    dim: int
    mean_norm: float
    std_min: float
    std_max: float
    probe: float


@dataclass
class AuditReport:
    """The audit of every modality, the majority-class score and the warnings (one line each)."""

    metric: str
    split: str
    majority: float
    chance: float
    modalities: list[ModalityAudit]
    warnings: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        """A markdown table, one row per modality, then the warnings."""
        lines = [
            f"| modality | dims | mean norm | per-dim std | {self.split} {self.metric} (probe) "
            "| majority | chance |",
            "|---|---:|---:|---|---:|---:|---:|",
        ]
        for m in self.modalities:
            lines.append(
                f"| {m.name} | {m.dim} | {m.mean_norm:.3g} | {m.std_min:.3g} .. {m.std_max:.3g} "
                f"| {m.probe:.3f} | {self.majority:.3f} | {self.chance:.3f} |"
            )
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings]) + "\n"

    def short_lines(self) -> list[str]:
        """One line per modality and one per warning (what `train` prints before it starts)."""
        lines = [
            f"{m.name}: {m.dim} dims, mean norm {m.mean_norm:.3g}, std {m.std_min:.2g}.."
            f"{m.std_max:.2g}, probe {self.split} {self.metric} {m.probe:.3f} "
            f"(majority {self.majority:.3f}, chance {self.chance:.3f})"
            for m in self.modalities
        ]
        return lines + [f"warning: {w}" for w in self.warnings]


def audit_modalities(
    bundle: DataBundle, *, margin: float = CHANCE_MARGIN, scale_ratio: float = SCALE_RATIO
) -> AuditReport:
    """Audit every modality of ``bundle``: probes fit on train, scored on val (test if empty)."""
    split, scored = ("val", bundle.val) if len(bundle.val) else ("test", bundle.test)
    regression = bundle.task != "classification"
    metric = "binary WAF" if regression else "WAF"
    y_train = _labels(bundle.train)
    y_score = _labels(scored)
    majority = _majority_score(y_train, y_score, regression)
    chance = max(majority, _prior_guess_score(y_train, y_score, regression))
    rows = []
    for name, dim in bundle.modality_dims.items():
        x_train, keep_train = _rows(bundle.train, name)
        x_score, keep_score = _rows(scored, name)
        norms = np.linalg.norm(x_train, axis=1)
        std = x_train.std(axis=0) if len(x_train) else np.zeros(dim)
        probe = _probe(
            x_train, y_train[keep_train], x_score, y_score[keep_score], regression, majority
        )
        rows.append(
            ModalityAudit(
                name,
                int(dim),
                float(norms.mean()) if len(norms) else 0.0,
                float(std.min()),
                float(std.max()),
                probe,
            )
        )
    report = AuditReport(metric, split, majority, chance, rows)
    for m in rows:
        if m.probe <= chance + margin:
            report.warnings.append(
                f"modality {m.name!r} scores at chance: probe {split} {metric} {m.probe:.3f} vs "
                f"chance {chance:.3f} (majority class {majority:.3f}); it may carry no label "
                "information"
            )
    for a, b in itertools.permutations(rows, 2):
        if a.mean_norm > scale_ratio * max(b.mean_norm, 1e-12):
            report.warnings.append(
                f"modality {a.name!r} has mean norm {a.mean_norm:.3g}, "
                f"{a.mean_norm / max(b.mean_norm, 1e-12):.0f}x that of {b.name!r} "
                f"({b.mean_norm:.3g}) before standardisation"
            )
    return report


def _labels(dataset: ERCDataset) -> np.ndarray:
    """Every utterance's label, conversations concatenated: (N,)."""
    return np.concatenate([np.asarray(c.labels) for c in dataset])


def _rows(dataset: ERCDataset, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The observed rows of modality ``name`` (N_obs, D) float64 and which of all rows they are."""
    parts, keep = [], []
    for conv in dataset:
        seen = np.asarray(conv.present.get(name, np.ones(len(conv), dtype=bool)), dtype=bool)
        parts.append(conv.features[name][seen])
        keep.append(seen)
    return np.concatenate(parts).astype(np.float64), np.concatenate(keep)


def _score(pred: np.ndarray, labels: np.ndarray, regression: bool) -> float:
    if regression:
        return binary_weighted_f1(pred.astype(np.float64), labels.astype(np.float64))
    return weighted_f1(pred.astype(np.int64), labels.astype(np.int64))


def _majority_score(y_train: np.ndarray, y_score: np.ndarray, regression: bool) -> float:
    """Score of always predicting the training split's most frequent class (or sign)."""
    if regression:
        sign = 1.0 if (y_train > 0).sum() >= (y_train < 0).sum() else -1.0
        return _score(np.full(len(y_score), sign), y_score, True)
    values, counts = np.unique(y_train, return_counts=True)
    return _score(np.full(len(y_score), values[counts.argmax()]), y_score, False)


def _prior_guess_score(
    y_train: np.ndarray, y_score: np.ndarray, regression: bool, draws: int = 20
) -> float:
    """Mean score of guesses drawn (seeded) from the training split's label distribution."""
    rng = np.random.default_rng(0)
    if regression:
        values, counts = np.array([-1.0, 1.0]), np.array([(y_train < 0).sum(), (y_train > 0).sum()])
    else:
        values, counts = np.unique(y_train, return_counts=True)
    if counts.sum() == 0:
        return 0.0
    p = counts / counts.sum()
    return float(
        np.mean(
            [
                _score(rng.choice(values, len(y_score), p=p), y_score, regression)
                for _ in range(draws)
            ]
        )
    )


def _probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_score: np.ndarray,
    y_score: np.ndarray,
    regression: bool,
    majority: float,
) -> float:
    """Validation score of a linear probe on standardised vectors; the majority score when a
    probe cannot be fit (one class, no rows). scikit-learn is imported here, not with the module,
    so a cached audit (report/audit_cache.py) costs no import."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(x_score) == 0 or len(x_train) < 2:
        return majority
    if len(x_train) > PROBE_ROWS:
        pick = np.random.default_rng(0).choice(len(x_train), PROBE_ROWS, replace=False)
        x_train, y_train = x_train[pick], y_train[pick]
    if regression:
        model = make_pipeline(StandardScaler(), Ridge(alpha=10.0))
    else:
        if len(np.unique(y_train)) < 2:
            return majority
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=300))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    return _score(model.predict(x_score), y_score, regression)
