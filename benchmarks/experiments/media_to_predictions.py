"""From a folder of mp4 recordings and a table to predictions, every step through the CLI.

1. `make_media_clips.py`: ``--clips`` mp4 conversations (a real face, espeak-ng speech) + table;
2. `iteach-app features all` on them (text, audio, video);
3. `iteach-app train --conversations` for ``--epochs`` epochs (a toy: the point is the path);
4. two new recordings, one with no face in view, their own `features all` (the faceless one is
   absent from video.npz), and `iteach-app predict` on them.
Prints each command and its output (the transcript of docs/results/media-features.md). Usage:
    nice -n 10 python benchmarks/experiments/media_to_predictions.py OUT [--clips 6] [--epochs 2]
"""

from __future__ import annotations

import argparse
import csv
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from make_media_clips import RATE, clip_face, make_clips

from iteach_app.extract.sample_media import speech, write_clip


def run(*args: str, cwd: Path) -> None:
    """Run ``iteach-app ARGS`` in ``cwd``, print the command and its output; stop on failure."""
    command = [sys.executable, "-m", "iteach_app", *args]
    print(f"$ iteach-app {shlex.join(args)}", flush=True)
    done = subprocess.run(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    output = "\n".join(
        line
        for line in done.stdout.splitlines()
        if line.strip() and not line.startswith("Loading weights")
    )
    print(output, flush=True)
    if done.returncode:
        sys.exit(f"failed with exit code {done.returncode}")


def new_recordings(folder: Path) -> Path:
    """Two new calls of 2 utterances: one face in view, one with an empty frame (no face)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [("I am thrilled, we finally did it!", "joy"), ("I feel so alone tonight.", "sad")]
    rows = []
    for index, image in enumerate([clip_face(0), np.full((240, 240, 3), 60, np.uint8)]):
        parts, time = [], 0.0
        for turn, (text, label) in enumerate(lines):
            said, _ = speech(text, rate=RATE, pitch=45)
            end = time + said.shape[0] / RATE
            rows.append([f"new{index}", f"new{index}_{turn}", "AB"[turn], label, text,
                         f"new{index}.mp4", f"{time:.3f}", f"{end:.3f}"])  # fmt: skip
            parts += [said, np.zeros(RATE // 4, np.float32)]
            time = end + 0.25
        write_clip(folder / f"new{index}.mp4", image=image, audio=np.concatenate(parts))
    table = folder / "table.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["conversation_id", "utterance_id", "speaker", "label", "text",
                         "media_path", "start", "end"])  # fmt: skip
        writer.writerows(rows)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    out = args.out.resolve()
    make_clips(out / "calls", args.clips)
    new_recordings(out / "new")
    print(f"$ ls calls/\n{' '.join(sorted(p.name for p in (out / 'calls').iterdir()))}")
    media = ["--start-column", "start", "--end-column", "end", "--media-column", "media_path"]
    run("features", "all", "calls/table.csv", "--out-dir", "feats", *media, cwd=out)
    features = (out / "feats" / "features.txt").read_text(encoding="utf-8").strip()
    train = ["--epochs", str(args.epochs), "--threads", "1", "-b", "4", "--out", "runs"]
    run("train", "--conversations", "calls/table.csv", "--features", features, *train, cwd=out)
    run("features", "all", "new/table.csv", "--out-dir", "new_feats", *media, cwd=out)
    new_features = (out / "new_feats" / "features.txt").read_text(encoding="utf-8").strip()
    run("predict", "runs/table-its-seed0", "--conversations", "new/table.csv",
        "--features", new_features, "--out", "predictions.csv", cwd=out)  # fmt: skip
    print("$ cat predictions.csv")
    print((out / "predictions.csv").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
