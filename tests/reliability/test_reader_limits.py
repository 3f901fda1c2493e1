"""Readers check sizes and types before reading: a config from /dev/zero or a FIFO, a sparse
8 GB checkpoint, a checkpoint linked out of its run folder, .npz members that claim or inflate to
gigabytes, a V0 .npy, a label pickle of colliding hash keys: each a clear error naming the file,
at once and in little memory."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from erc_data import DataError, load_conversations, load_pickle
from erc_data.npy import read_npy
from iteach_app.cli import app
from iteach_app.config import ConfigError, load_toml
from tests.reliability.test_cli_errors import TINY, _fails_clearly

runner = CliRunner()
HASH_MODULUS = 2**61 - 1
PEAK_RSS = """
import resource, sys
from iteach_app.cli import app
from iteach_app.config import ConfigError, load_toml
sys.argv = ["iteach-app", *sys.argv[1:]]
try:
    app()
finally:
    print(f"peak_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


# ---------------------------------------------------------------- --config
def test_config_from_a_device_is_refused(tmp_path) -> None:
    _fails_clearly(["train", "--config", "/dev/zero", *TINY, "--out", tmp_path], "/dev/zero")


def test_config_from_a_fifo_is_refused_without_blocking(tmp_path) -> None:
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            load_toml(fifo)
        except BaseException as err:  # the outcome is checked below
            outcome.append(err)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # blocked in open(): give it a writer and EOF, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=30)
        pytest.fail(f"reading {fifo} blocked until a writer came")
    assert isinstance(outcome[0], ConfigError)
    assert "not a regular file" in str(outcome[0])
    _fails_clearly(["train", "--config", fifo, *TINY, "--out", tmp_path], str(fifo))


@pytest.mark.parametrize("kind", ["device", "oversized", "folder"])
def test_sweep_files_get_the_same_checks(tmp_path, kind: str) -> None:
    """A sweep file is read like a config: size and type checked before reading."""
    path = {"device": Path("/dev/zero"), "folder": tmp_path}.get(kind, tmp_path / "big.toml")
    if kind == "oversized":
        path.write_text("# padding\n" * 200_000)
    expected = {"device": "not a regular file", "oversized": "more than", "folder": "sweep TOML"}
    _fails_clearly(["sweep", "grid", str(path), "--out", str(tmp_path / "runs")], expected[kind])


def test_an_oversized_config_is_refused(tmp_path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)
    _fails_clearly(["train", "--config", big, *TINY, "--out", tmp_path], "big.toml")


# ---------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ckpt")
    result = runner.invoke(app, ["train", *TINY, "--out", str(out), "--name", "run"])
    assert result.exit_code == 0, result.output
    return out / "run"


def _copy(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns(".iteach-app.lock"))
    return copy


def _header(path: Path) -> dict:
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length])


def test_a_sparse_8gb_checkpoint_is_refused_from_its_header(finished, tmp_path) -> None:
    """The header claims one model tensor of 8 GB and the file is that large (sparse): refused
    before its data is read, so evaluate's peak memory stays that of a small run."""
    copy = _copy(finished, tmp_path)
    best = copy / "checkpoints" / "best.safetensors"
    header = _header(best)
    name = next(k for k in header if k.startswith("model."))
    size = 2 * 2**30 * 4
    header = {"__metadata__": header["__metadata__"], name: {
        "dtype": "F32", "shape": [2 * 2**30], "data_offsets": [0, size]}}  # fmt: skip
    raw = json.dumps(header).encode()
    with open(best, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        handle.truncate(8 + len(raw) + size)
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, "evaluate", str(copy), "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    error, peak = done.stderr.strip().splitlines()
    assert error.startswith("error: ")
    assert "best.safetensors" in error
    assert "does not fit this model" in error
    # far below the 8 GB it claims (the full suite measured up to 2.7 GB: imports, page cache)
    assert int(peak.removeprefix("peak_kib=")) < 4 * 2**20


def test_a_padded_checkpoint_is_refused(finished, tmp_path) -> None:
    copy = _copy(finished, tmp_path)
    best = copy / "checkpoints" / "best.safetensors"
    with open(best, "r+b") as handle:
        handle.truncate(best.stat().st_size + 2**30)
    _fails_clearly(["evaluate", copy, "--device", "cpu"], "bytes of tensors")


def test_a_checkpoint_linked_out_of_the_run_folder_is_not_read(finished, tmp_path) -> None:
    copy = _copy(finished, tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$SECRET-HASH-CONTENT:19000:0:99999:7:::\n")
    best = copy / "checkpoints" / "best.safetensors"
    best.unlink()
    best.symlink_to(secret)
    _fails_clearly(["evaluate", copy, "--device", "cpu"], "outside the run folder")
    result = runner.invoke(app, ["evaluate", str(copy), "--device", "cpu"])
    assert "SECRET" not in result.output
    assert str(int.from_bytes(secret.read_bytes()[:8], "little")) not in result.output


def test_a_checkpoint_of_other_bytes_is_not_quoted(finished, tmp_path) -> None:
    copy = _copy(finished, tmp_path)
    best = copy / "checkpoints" / "best.safetensors"
    best.write_bytes(b"password=hunter2 and more private text")
    result = runner.invoke(app, ["evaluate", str(copy), "--device", "cpu"])
    assert result.exit_code == 2
    assert "best.safetensors" in result.output
    assert str(int.from_bytes(b"password", "little")) not in result.output


# ---------------------------------------------------------------- .npz / .npy
def _table(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "t.jsonl"
    rows = [
        {"conversation_id": "c", "utterance_id": u, "speaker": "A", "label": i % 2}
        for i, u in enumerate(ids)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def _archive(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for key, data in members.items():
            archive.writestr(f"{key}.npy", data)
    return path


def _ok(value: float = 1.0) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.full(4, value, np.float32))
    return buffer.getvalue()


def test_npz_member_claiming_250e9_floats_is_refused(tmp_path) -> None:
    npz = _archive(tmp_path / "f.npz", {"u0": _ok(), "u1": _npy_header((250_000_000_000,))})
    with pytest.raises(DataError, match=r"f\.npz\['u1'\].*refused before reading"):
        load_conversations(_table(tmp_path, ["u0", "u1"]), {"text": npz})


def test_bzip2_npz_member_is_refused_unread(tmp_path) -> None:
    npz = tmp_path / "b.npz"
    with zipfile.ZipFile(npz, "w", compression=zipfile.ZIP_BZIP2) as archive:
        with archive.open("u1.npy", "w") as member:
            member.write(_npy_header((4,)))
            zeros = bytes(1 << 22)
            for _ in range(16):  # 64 MB of zeros in a few hundred bytes
                member.write(zeros)
        archive.writestr("u0.npy", _ok(), compress_type=zipfile.ZIP_STORED)
    assert npz.stat().st_size < 10_000
    with pytest.raises(DataError, match=r"b\.npz\['u1'\].*compression method bzip2"):
        load_conversations(_table(tmp_path, ["u0", "u1"]), {"text": npz})


def test_deflate_npz_member_longer_than_its_header_stops_at_the_header(tmp_path) -> None:
    """64 MB of zeros behind a 4-float header: refused from the sizes, never inflated whole."""
    npz = tmp_path / "d.npz"
    with zipfile.ZipFile(npz, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("u1.npy", "w") as member:
            member.write(_npy_header((4,)))
            zeros = bytes(1 << 22)
            for _ in range(16):
                member.write(zeros)
        archive.writestr("u0.npy", _ok())
    assert npz.stat().st_size < 200_000
    with pytest.raises(DataError, match=r"d\.npz\['u1'\].*(more data|archive lists)"):
        load_conversations(_table(tmp_path, ["u0", "u1"]), {"text": npz})


def test_npz_member_of_dtype_v0_is_named(tmp_path) -> None:
    npz = _archive(tmp_path / "v.npz", {"u0": _ok(), "u1": _npy_header((3,), "|V0")})
    with pytest.raises(DataError, match=r"v\.npz\['u1'\].*V0"):
        load_conversations(_table(tmp_path, ["u0", "u1"]), {"text": npz})


def test_npy_of_dtype_v0_is_named(tmp_path) -> None:
    path = tmp_path / "u1.npy"
    path.write_bytes(_npy_header((3,), "|V0"))
    with pytest.raises(DataError, match=r"u1\.npy.*V0"):
        read_npy(str(path))


def test_plain_npz_still_loads(tmp_path) -> None:
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        npz = _archive(tmp_path / f"ok{method}.npz", {"u0": _ok(1), "u1": _ok(2)}, method)
        dataset = load_conversations(_table(tmp_path, ["u0", "u1"]), {"text": npz})
        np.testing.assert_array_equal(dataset[0].features["text"][:, 0], [1.0, 2.0])


# ---------------------------------------------------------------- label pickles
def _int_opcode(value: int) -> bytes:
    return pickle.dumps(value, protocol=2)[2:-1]


def _colliding_dict(n: int) -> bytes:
    """A protocol-2 pickle of {k * (2**61 - 1) + 7: 0}: every key hashes to 7."""
    keys = b"".join(_int_opcode(HASH_MODULUS * (k + 1) + 7) + b"K\x00" for k in range(n))
    return b"\x80\x02}(" + keys + b"u."


def _colliding_frozenset(n: int, protocol: int) -> bytes:
    items = b"".join(_int_opcode(HASH_MODULUS * (k + 1) + 7) for k in range(n))
    if protocol >= 4:
        return b"\x80\x04(" + items + b"\x91."
    return b"\x80\x02cbuiltins\nfrozenset\n]q\x00(" + items + b"e\x85R."


@pytest.mark.parametrize(
    "data",
    [_colliding_dict(20_000), _colliding_frozenset(20_000, 2), _colliding_frozenset(20_000, 4)],
    ids=["dict", "frozenset-reduce", "frozenset-opcode"],
)
def test_pickle_of_colliding_hash_keys_is_refused(tmp_path, data) -> None:
    path = tmp_path / "labels.pkl"
    path.write_bytes(data)
    with pytest.raises(DataError, match=r"labels\.pkl.*collide"):
        load_pickle(path)


def test_pickle_of_many_plain_keys_still_loads(tmp_path) -> None:
    value = [{f"Ses0{k}": [0, 1], k: "x"} for k in range(3)] + [set(range(50_000))]
    value.append({float(k) / 2: k for k in range(500)})  # a few floats are fine
    path = tmp_path / "labels.pkl"
    for protocol in (2, 4):
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        assert load_pickle(path) == value
