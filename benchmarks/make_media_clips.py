"""A folder of synthetic recorded conversations: mp4 clips of a real face with speech, and a table.

Each clip is one conversation of 3 utterances: scikit-image's astronaut photograph (mirrored,
cropped or shifted per clip) with espeak-ng speech of 3 sentences (a synthetic voiced signal
without espeak-ng), 0.3 s of silence between them. The table (``table.csv``) has one row per
utterance with the clip's path and the utterance's ``start`` / ``end`` seconds, its text, a label
(``joy`` / ``sad`` from the sentence) and a split (the last clip test, the one before val). Usage:
    python benchmarks/make_media_clips.py OUT [--clips 6]
Needs the 'features' extra (PyAV) and scikit-image.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from skimage import data

from iteach_app.extract.sample_media import speech, write_clip

SENTENCES = [
    ("I got the job, I am so happy today!", "joy"),
    ("That is wonderful news, well done.", "joy"),
    ("We won the match last night, what a game!", "joy"),
    ("I missed the last train home again.", "sad"),
    ("My old dog died this morning.", "sad"),
    ("Nobody came to my birthday party.", "sad"),
]
RATE = 16000
GAP_S = 0.3


def clip_face(index: int) -> np.ndarray:
    """(H, W, 3) uint8 view of the astronaut's face, different per clip."""
    face = data.astronaut()
    top, left, size = [(30, 100, 256), (20, 110, 240), (40, 90, 280), (30, 120, 220)][index % 4]
    view = face[top : top + size, left : left + size]
    return np.ascontiguousarray(view[:, ::-1] if index % 2 else view)


def make_clips(out: Path, clips: int = 6) -> Path:
    """Write ``clips`` mp4 files and ``table.csv`` under ``out``; returns the table's path."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(clips):
        parts, time = [], 0.0
        for turn in range(3):
            text, label = SENTENCES[(index + 2 * turn) % len(SENTENCES)]
            said, _ = speech(
                text, rate=RATE, voice="en+f3" if turn % 2 else "en", pitch=40 + 10 * turn
            )
            start, time = time, time + said.shape[0] / RATE
            rows.append([f"clip{index}", f"clip{index}_{turn}", "AB"[turn % 2], label, text,
                         f"clip{index}.mp4", f"{start:.3f}", f"{time:.3f}"])  # fmt: skip
            parts += [said, np.zeros(int(GAP_S * RATE), np.float32)]
            time += GAP_S
        write_clip(out / f"clip{index}.mp4", image=clip_face(index), audio=np.concatenate(parts))
    splits = ["train"] * (clips - 2) + ["val", "test"]
    table = out / "table.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["conversation_id", "utterance_id", "speaker", "label", "text",
                         "media_path", "start", "end", "split"])  # fmt: skip
        writer.writerows([*row, splits[int(row[0][4:])]] for row in rows)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--clips", type=int, default=6)
    args = parser.parse_args()
    print(make_clips(args.out, args.clips))


if __name__ == "__main__":
    main()
