"""Linear reference points of ../shared/data/README.md, recomputed with erc_data + scikit-learn.

IEMOCAP (test = Session 5, text only): logistic regression on the utterance vector, and on the
utterance concatenated with the mean of its +-3 neighbours in the same dialogue. CMU-MOSI: ridge
regression trained on train+val, binary weighted F1 on the test set's non-zero labels (text, audio
standardised, both). Usage: ``python benchmarks/experiments/baselines.py [--data DIR] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler

from erc_data import ERCDataset, load_gcnet

TEXT = "minilm-384-UTT"
AUDIO = "covarep73-UTT"


def neighbour_mean(x: np.ndarray, radius: int = 3) -> np.ndarray:
    """(L, D) -> (L, D): the mean of the other utterances within +-radius (zeros if none)."""
    out = np.zeros_like(x)
    for i in range(len(x)):
        idx = [j for j in range(max(0, i - radius), min(len(x), i + radius + 1)) if j != i]
        if idx:
            out[i] = x[idx].mean(axis=0)
    return out


def stack(
    dataset: ERCDataset, modality: str, context: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Utterance rows (N, D) (or (N, 2D) with the neighbour mean) and their labels (N,)."""
    rows, labels = [], []
    for conv in dataset:
        x = conv.features[modality]
        rows.append(np.concatenate([x, neighbour_mean(x)], axis=1) if context else x)
        labels.append(np.asarray(conv.labels))
    return np.concatenate(rows), np.concatenate(labels)


def iemocap(root: Path, name: str, context: bool, fold: int = 5) -> float:
    """Weighted F1 on Session ``fold`` of a logistic regression trained on the other sessions."""
    ds = load_gcnet(root / "IEMOCAP", name, {"text": TEXT})
    train, _, test = ds.split(fold=fold, val_fraction=0.0)
    x_tr, y_tr = stack(train, "text", context)
    x_te, y_te = stack(test, "text", context)
    clf = LogisticRegression(max_iter=2000).fit(x_tr, y_tr)
    return float(f1_score(y_te, clf.predict(x_te), average="weighted"))


def mosi(root: Path) -> dict[str, float]:
    """Binary weighted F1 (non-zero test labels) of ridge on text, audio and both."""
    ds = load_gcnet(root / "CMUMOSI", "CMUMOSI", {"text": TEXT, "audio": AUDIO})
    train, val, test = ds.split()
    fit = [train, val]
    out = {}
    for key, mods in (("text", ["text"]), ("audio", ["audio"]), ("text+audio", ["text", "audio"])):
        parts_tr, parts_te = [], []
        for m in mods:
            x_tr = np.concatenate([stack(d, m)[0] for d in fit])
            x_te = stack(test, m)[0]
            if m == "audio":
                scaler = StandardScaler().fit(x_tr)
                x_tr, x_te = scaler.transform(x_tr), scaler.transform(x_te)
            parts_tr.append(x_tr)
            parts_te.append(x_te)
        y_tr = np.concatenate([stack(d, "text")[1] for d in fit])
        y_te = stack(test, "text")[1]
        pred = Ridge().fit(np.concatenate(parts_tr, 1), y_tr).predict(np.concatenate(parts_te, 1))
        nz = y_te != 0
        out[key] = float(f1_score(y_te[nz] > 0, pred[nz] > 0, average="weighted"))
    return out


def run(root: Path) -> dict[str, float]:
    """Every reference point, keyed by a short name."""
    results = {
        "iemocap4_lr_utterance": iemocap(root, "IEMOCAPFour", False),
        "iemocap4_lr_context3": iemocap(root, "IEMOCAPFour", True),
        "iemocap6_lr_utterance": iemocap(root, "IEMOCAPSix", False),
        "iemocap6_lr_context3": iemocap(root, "IEMOCAPSix", True),
    }
    results.update({f"mosi_ridge_{k}": v for k, v in mosi(root).items()})
    return results


def to_markdown(results: dict[str, float]) -> str:
    """Markdown table of the reference points beside the README's figures."""
    readme = {
        "iemocap4_lr_utterance": "0.578",
        "iemocap4_lr_context3": "0.716",
        "iemocap6_lr_utterance": "0.466",
        "iemocap6_lr_context3": "-",
        "mosi_ridge_text": "0.785",
        "mosi_ridge_audio": "0.504",
        "mosi_ridge_text+audio": "0.735",
    }
    lines = ["| reference point | measured | data README |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.3f} | {readme.get(k, '-')} |" for k, v in results.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    args = parser.parse_args()
    results = run(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "baselines.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "baselines.md").write_text(to_markdown(results))
    print(to_markdown(results))


if __name__ == "__main__":
    main()
