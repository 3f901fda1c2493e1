"""Export CMU-MOSI (the GCNet release in ../shared/data) to erc-data's own-conversations format.

Writes, into the folder given on the command line (never the repository):
  table.csv   conversation_id, utterance_id, speaker, label (sentiment score), order, split
  text.npz    utterance_id -> float32 (384,)  (the real minilm-384-UTT features)
  audio.npz   utterance_id -> float32 (73,)   (the real covarep73-UTT features)
The label pickle is read with erc_data's restricted unpickler (numpy reconstructors only).

    python benchmarks/experiments/export_mosi_own_format.py /tmp/mosi-own
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

from erc_data import load_pickle
from erc_data.features import read_feature_folder

FEATURES = {"text": "minilm-384-UTT", "audio": "covarep73-UTT"}


def export(root: Path, out: Path) -> int:
    """Write table.csv, text.npz and audio.npz for CMU-MOSI into ``out``; returns utterances."""
    video_ids, labels, speakers, _, train, val, test = load_pickle(
        root / "CMUMOSI_features_raw_2way.pkl"
    )
    split_of = {v: s for s, vids in (("train", train), ("val", val), ("test", test)) for v in vids}
    rows = []
    for video in sorted(video_ids, key=lambda v: (split_of[v], v)):
        for k, (uid, y, who) in enumerate(
            zip(video_ids[video], labels[video], speakers[video], strict=True)
        ):
            rows.append(
                {
                    "conversation_id": video,
                    "utterance_id": str(uid),
                    "speaker": str(who),
                    "label": float(y),
                    "order": k,
                    "split": split_of[video],
                }
            )
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "table.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ids = [r["utterance_id"] for r in rows]
    for modality, folder in FEATURES.items():
        vectors = read_feature_folder(root / "features" / folder, ids)
        np.savez(out / f"{modality}.npz", **dict(zip(ids, vectors, strict=True)))
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (outside the repository)")
    args = parser.parse_args()
    default = Path(__file__).resolve().parents[3] / "shared" / "data"
    shared = Path(os.environ.get("ITEACH_SHARED_DATA", default))
    if not (shared / "CMUMOSI").is_dir():
        sys.exit(f"error: {shared / 'CMUMOSI'} not found; set ITEACH_SHARED_DATA to its parent")
    count = export(shared / "CMUMOSI", args.out)
    print(f"wrote {count} utterances to {args.out}/table.csv, text.npz, audio.npz")


if __name__ == "__main__":
    main()
