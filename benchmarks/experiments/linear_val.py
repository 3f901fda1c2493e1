"""The linear references of baselines.py (logistic regression on the utterance, and on the
utterance plus the mean of its +-3 neighbours) scored on each seed's VALIDATION split of
IEMOCAP 4-class fold 5 (the split the trainer carves), to compare with validation WAFs.

Usage (from the repository root, after ``source ../env.sh``)::

    nice -n 10 python benchmarks/experiments/linear_val.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from baselines import TEXT, stack
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from erc_data import load_gcnet
from iteach_app.config import resolve

DATA = Path(
    os.environ.get("ITEACH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    dataset = load_gcnet(DATA / "IEMOCAP", "IEMOCAPFour", {"text": TEXT})
    config = resolve(
        overrides={"data": str(DATA / "IEMOCAP"), "dataset": "IEMOCAPFour", "fold": 5},
        source="linear_val",
    )
    for seed in (int(s) for s in args.seeds.split(",")):
        train, val, _ = dataset.split(fold=5, val_fraction=config.val_fraction, seed=seed)
        scores = []
        for context in (False, True):
            x_train, y_train = stack(train, "text", context)
            x_val, y_val = stack(val, "text", context)
            clf = LogisticRegression(max_iter=2000).fit(x_train, y_train)
            scores.append(f1_score(y_val, clf.predict(x_val), average="weighted"))
        print(f"seed {seed}: val WAF utterance {scores[0]:.3f}, +-3 context {scores[1]:.3f}")


if __name__ == "__main__":
    main()
