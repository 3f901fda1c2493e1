"""Writes the config.toml files of this folder and hashes.json. It must run against the app at
commit b8be368 (before settings took their model constructor's names), e.g.:

    git archive b8be368 apps packages | tar -x -C /tmp/main-b8be368
    PYTHONPATH=$(echo /tmp/main-b8be368/packages/{ecce,its,missing,erc-data}/src | tr ' ' :)\
:/tmp/main-b8be368/apps/iteach/src python generate.py .
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from iteach_app.config import resolve, to_toml

CASES: dict[str, dict] = {
    "its_default": {"synthetic": "iemocap4"},
    "its_explicit_roles": {
        "synthetic": "iemocap4", "teacher": "attention", "teacher_layers": 3, "student_layers": 5,
    },
    "ts_no_gates_layernorm": {
        "synthetic": "iemocap4", "framework": "ts", "fusion_gates": "none",
        "input_norm": "layernorm",
    },
    "pre_paper": {"synthetic": "iemocap4", "framework": "pre", "preset": "paper", "hidden_dim": 64},
    "gcnet": {"synthetic": "iemocap4", "model": "gcnet"},
    "mmin_real": {
        "data": "../shared/data/IEMOCAP", "dataset": "IEMOCAPFour",
        "features": {"text": "t", "audio": "a"}, "fold": 5, "model": "mmin",
    },
}  # fmt: skip


def main(out: Path) -> None:
    hashes = {}
    for name, values in CASES.items():
        config = resolve(values)
        (out / f"{name}.toml").write_text(to_toml(config))
        hashes[name] = config.config_hash()
    (out / "hashes.json").write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
