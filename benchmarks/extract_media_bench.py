"""Throughput of feature extraction from media files, per modality, on synthetic recordings.

Makes ``--clips`` mp4 conversations (`make_media_clips.py`: a real face, espeak-ng speech, 3
utterances each), loads every model once, then times each modality over all utterances:
text (MiniLM), audio (decode + eGeMAPS; decode + librosa) and video (decode + face detection +
68 landmarks at ``--fps``), plus decoding alone for both. Prints utterances/s and how many
seconds of recording one CPU second covers (the real-time factor), from wall and CPU time. Usage:
    nice -n 10 python benchmarks/extract_media_bench.py [--clips 6] [--fps 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from make_media_clips import make_clips

from iteach_app.extract import (
    embed_texts,
    extract_audio,
    extract_video,
    load_text_model,
    read_audio,
    read_column,
    read_media_rows,
    sample_frames,
)


def _timed(work: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall time and best CPU time of this process over ``repeats`` runs of ``work`` (s).

    The CPU time is the figure to compare on a shared machine: other jobs stretch the wall time.
    """
    wall = cpu = float("inf")
    for _ in range(repeats):
        began, began_cpu = time.perf_counter(), time.process_time()
        work()
        wall = min(wall, time.perf_counter() - began)
        cpu = min(cpu, time.process_time() - began_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        table = make_clips(Path(folder), args.clips)
        rows = read_media_rows(table, "media_path", start_column="start", end_column="end")
        texts = read_column(table, "text")
        seconds = sum(r.end - r.start for r in rows if r.end is not None and r.start is not None)
        model = load_text_model("cpu")

        def decode_audio() -> None:
            for row in rows:
                read_audio(row.path, start=row.start, end=row.end)

        def decode_video() -> None:
            for row in rows:
                list(sample_frames(row.path, fps=args.fps, start=row.start, end=row.end))

        work: dict[str, Callable[[], object]] = {
            "text (MiniLM-L6, CPU)": lambda: embed_texts(texts, model=model, show_progress=False),
            "audio decode only (PyAV, 16 kHz)": decode_audio,
            "audio decode + eGeMAPS": lambda: extract_audio(rows, show_progress=False),
            "audio decode + librosa": lambda: extract_audio(
                rows, extractor="librosa", show_progress=False
            ),
            f"video decode only ({args.fps:g} fps)": decode_video,
            f"video decode + face ({args.fps:g} fps)": lambda: extract_video(
                rows, fps=args.fps, show_progress=False
            ),
        }
        print(
            f"{len(rows)} utterances, {seconds:.1f} s of recording in {args.clips} mp4 clips "
            f"(256 px face), {args.threads} thread(s), best of {args.repeats}"
        )
        print(
            f"{'modality':40s} {'wall s':>7s} {'cpu s':>7s} {'utt/s':>7s} {'utt/cpu-s':>9s} "
            f"{'x real time (cpu)':>17s}"
        )
        for name, job in work.items():
            wall, cpu = _timed(job, args.repeats)
            print(
                f"{name:40s} {wall:7.2f} {cpu:7.2f} {len(rows) / wall:7.1f} "
                f"{len(rows) / cpu:9.1f} {seconds / cpu:17.1f}"
            )


if __name__ == "__main__":
    main()
