"""Throughput of `iteach-app features text` (offline all-MiniLM-L6-v2) on generated sentences.

Writes a conversation table of ``--sentences`` varied English sentences (the shared transcripts
are blanked), runs the command end to end in a fresh process (start, model load, encoding,
.npz write), then times the encoding alone with the model loaded. Usage:
    nice -n 10 python benchmarks/extract_bench.py [--sentences 1200] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from iteach_app.extract import MissingExtraError, embed_texts, load_text_model, read_vectors

SUBJECTS = [
    "I",
    "You",
    "My sister",
    "The manager",
    "Our neighbour",
    "Nobody",
    "The kids",
    "Your friend from work",
    "The doctor",
    "Everyone at the party",
    "He",
    "She",
    "We",
]
VERBS = [
    "really loved",
    "completely forgot",
    "never understood",
    "finally fixed",
    "hated",
    "talked about",
    "laughed at",
    "worried about",
    "paid for",
    "cancelled",
    "found",
]
OBJECTS = [
    "the dinner",
    "that old car",
    "the meeting on Monday",
    "her new job",
    "the tickets",
    "the broken window",
    "this whole situation",
    "the wedding plans",
    "my phone",
    "the rent",
]
TAILS = [
    "",
    " yesterday",
    " again",
    " last night",
    " before the storm",
    " without telling anyone",
    " and I am so angry about it",
    " which made me really happy",
    " for the third time",
    " even though it was raining",
    " because nobody else would",
]
OPENERS = ["", "", "", "Honestly, ", "Wait, ", "Oh my god, ", "Well, ", "You know what? "]
ENDINGS = [".", ".", "!", "?", "..."]  # fmt: skip
EMOTIONS = ["angry", "happy", "neutral", "sad"]


def generate_sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct sentences of varied length and tone from a few templates."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    while len(seen) < count:
        opener, subject = rng.choice(OPENERS), rng.choice(SUBJECTS)
        if opener.endswith(", ") and subject != "I":
            subject = subject[0].lower() + subject[1:]
        sentence = (f"{opener}{subject} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
                    f"{rng.choice(TAILS)}{rng.choice(ENDINGS)}")  # fmt: skip
        seen.setdefault(sentence)
    return list(seen)


def write_table(path: Path, sentences: list[str]) -> None:
    """erc-data's own format: ten utterances a conversation, two speakers, a text column."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["conversation_id", "utterance_id", "speaker", "label", "text"])
        for i, sentence in enumerate(sentences):
            conversation = f"dia{i // 10}"
            writer.writerow([conversation, f"{conversation}_utt{i % 10}", "AB"[i % 2],
                             EMOTIONS[i % len(EMOTIONS)], sentence])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--folder", type=Path, default=None, help="default: a new temp folder")
    args = parser.parse_args()
    try:
        model = load_text_model(device="cpu")
    except MissingExtraError as err:
        print(f"skipped: {err}")
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="extract_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    table, out = folder / "sentences.csv", folder / "text.npz"
    sentences = generate_sentences(args.sentences)
    write_table(table, sentences)
    words = sum(len(s.split()) for s in sentences) / len(sentences)
    print(f"table: {table} ({len(sentences)} sentences, {words:.1f} words on average)")

    command = [sys.executable, "-c", "from iteach_app.commands.features import app; app()",
               "text", str(table), "--column", "text", "--out", str(out),
               "--batch-size", str(args.batch_size), "--device", "cpu", "-q"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    assert len(read_vectors(out)) == len(sentences)
    print(f"command: iteach-app features text {table} --column text --out {out} "
          f"--batch-size {args.batch_size} --device cpu -q")  # fmt: skip
    print(f"end to end (process start, model load, encode, write): {wall:.1f} s = "
          f"{len(sentences) / wall:.1f} sentences/s")  # fmt: skip

    texts = {f"u{i}": s for i, s in enumerate(sentences)}
    start = time.perf_counter()
    embed_texts(texts, model=model, batch_size=args.batch_size, show_progress=False)
    encode = time.perf_counter() - start
    threads = torch.get_num_threads()
    print(f"encoding alone (model loaded, batch {args.batch_size}, {threads} torch thread(s)): "
          f"{encode:.1f} s = {len(sentences) / encode:.1f} sentences/s")  # fmt: skip


if __name__ == "__main__":
    main()
