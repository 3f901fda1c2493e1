"""Peak memory and time of the readers on three small-file bombs, each in a fresh process.

    python benchmarks/bombs.py [--work DIR]

1. an 8 GB sparse best.safetensors whose header claims one 8 GB model tensor, through
   `iteach-app evaluate` (a tiny synthetic run is trained first);
2. a 1.7 MB label pickle of 120,000 integer keys with one hash, and a 60,000-item frozenset of
   them, through `erc_data.load_pickle`;
3. a .npz whose bzip2 member is ~1.5 KB and inflates to 2 GB, through `load_conversations`.

Each line: the case, the outcome (the first 90 characters of the error), the wall time, and the
process's peak RSS (ru_maxrss) next to that of a process that only imports the same modules.
"""

from __future__ import annotations

import argparse
import io
import json
import pickle
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

HASH_MODULUS = 2**61 - 1
MEASURE = """
import resource, sys, time
{imports}
start = time.perf_counter()
try:
    {call}
    outcome = "loaded"
except BaseException as err:
    outcome = " ".join(str(err).split())
    if isinstance(err, SystemExit):
        outcome = f"exit {{err.code}}"
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"RESULT\\t{{seconds:.2f}}\\t{{peak:.0f}}\\t{{outcome[:90]}}")
"""


def measure(imports: str, call: str) -> tuple[float, float, str]:
    """(seconds, peak MiB, outcome) of ``call`` in a fresh interpreter after ``imports``."""
    script = MEASURE.format(imports=imports, call=call)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("RESULT")]
    if not lines:
        raise RuntimeError(done.stderr[-2000:])
    _, seconds, peak, outcome = lines[-1].split("\t", 3)
    return float(seconds), float(peak), outcome


def sparse_checkpoint(work: Path) -> Path:
    """A tiny finished run whose best.safetensors claims one 8 GB tensor (a sparse file)."""
    out = work / "runs"
    subprocess.run(
        [sys.executable, "-m", "iteach_app", "train", "--synthetic", "mosi",
         "--synthetic-dialogues", "14", "--synthetic-dims", "text=8,audio=4", "--hidden-dim", "8",
         "--num-heads", "2", "--epochs", "1", "-b", "4", "--device", "cpu", "-q",
         "--out", str(out), "--name", "run"],
        check=True, capture_output=True,
    )  # fmt: skip
    best = out / "run" / "checkpoints" / "best.safetensors"
    data = best.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    name = next(k for k in header if k.startswith("model."))
    size = 8 * 2**30
    new = {"__metadata__": header["__metadata__"],
           name: {"dtype": "F32", "shape": [size // 4], "data_offsets": [0, size]}}  # fmt: skip
    raw = json.dumps(new).encode()
    with open(best, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        handle.truncate(8 + len(raw) + size)
    return out / "run"


def colliding_pickles(work: Path) -> tuple[Path, Path]:
    """{k * (2**61 - 1) + 7: 0} for 120,000 k, and a frozenset of 60,000 such ints."""
    ints = [pickle.dumps(HASH_MODULUS * (k + 1) + 7, protocol=2)[2:-1] for k in range(120_000)]
    keyed = work / "collide_dict.pkl"
    keyed.write_bytes(b"\x80\x02}(" + b"".join(i + b"K\x00" for i in ints) + b"u.")
    frozen = work / "collide_frozenset.pkl"
    frozen.write_bytes(b"\x80\x04(" + b"".join(ints[:60_000]) + b"\x91.")
    return keyed, frozen


def bzip2_npz(work: Path) -> tuple[Path, Path]:
    """An .npz whose member 'u1' says shape (4,) float32 and inflates to 2 GB; and its table."""
    npz = work / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (4,)}
    )
    ok = io.BytesIO()
    np.save(ok, np.ones(4, np.float32))
    with zipfile.ZipFile(npz, "w", compression=zipfile.ZIP_BZIP2) as archive:
        with archive.open("u1.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            zeros = bytes(1 << 24)
            for _ in range(128):
                member.write(zeros)
        archive.writestr("u0.npy", ok.getvalue(), compress_type=zipfile.ZIP_STORED)
    table = work / "t.jsonl"
    rows = [{"conversation_id": "c", "utterance_id": f"u{i}", "speaker": "A", "label": i}
            for i in range(2)]  # fmt: skip
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return npz, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="iteach-bombs-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run = sparse_checkpoint(work)
    keyed, frozen = colliding_pickles(work)
    npz, table = bzip2_npz(work)
    print(f"inputs built in {time.perf_counter() - started:.1f} s under {work}")
    print(f"  8 GB sparse checkpoint: {(run / 'checkpoints' / 'best.safetensors').stat().st_size} "
          f"bytes apparent; pickles {keyed.stat().st_size} / {frozen.stat().st_size} bytes; "
          f"bzip2 npz {npz.stat().st_size} bytes")  # fmt: skip
    cli = "import sys\nfrom iteach_app.cli import app"
    cases = [
        ("8 GB sparse checkpoint (evaluate)", cli,
         f"sys.argv = ['iteach-app', 'evaluate', {str(run)!r}, '--device', 'cpu']; app()"),
        ("120k colliding dict keys (pickle)", "from erc_data import load_pickle",
         f"load_pickle({str(keyed)!r})"),
        ("60k colliding frozenset (pickle)", "from erc_data import load_pickle",
         f"load_pickle({str(frozen)!r})"),
        ("bzip2 npz member, 2 GB inflated", "from erc_data import load_conversations",
         f"load_conversations({str(table)!r}, {{'text': {str(npz)!r}}})"),
    ]  # fmt: skip
    print("| case | outcome | seconds | peak MiB | imports-only peak MiB |")
    print("|---|---|---:|---:|---:|")
    for name, imports, call in cases:
        seconds, peak, outcome = measure(imports, call)
        _, base, _ = measure(imports, "pass")
        print(f"| {name} | {outcome} | {seconds:.2f} | {peak:.0f} | {base:.0f} |")


if __name__ == "__main__":
    main()
