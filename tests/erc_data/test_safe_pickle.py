"""The restricted unpickler: numpy arrays and builtins containers load, anything else is refused."""

import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from erc_data import DataError, UnsafePickleError, load_pickle


class _System:
    """Unpickling this calls os.system (the classic pickle exploit)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Popen:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.target)],))


class _Open:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


@pytest.mark.parametrize("make", [lambda t: _System(f"touch {t}"), _Popen, _Open])
def test_malicious_pickle_refused_and_never_runs(tmp_path: Path, make) -> None:
    target = tmp_path / "pwned"
    bad = tmp_path / "labels.pkl"
    bad.write_bytes(pickle.dumps([{"a": [1, 2]}, make(target)], protocol=4))
    with pytest.raises(UnsafePickleError) as info:
        load_pickle(bad)
    assert not target.exists()
    message = str(info.value)
    assert str(bad) in message
    assert info.value.module in message
    assert info.value.name in message
    assert (info.value.module, info.value.name) in {
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "call"),
        ("io", "open"),
        ("builtins", "open"),
    }


@pytest.mark.parametrize("name", ["eval", "exec", "getattr", "__import__", "open"])
def test_dangerous_builtins_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "x.pkl"
    # protocol-0 pickle: GLOBAL builtins.<name>, then call it with one string argument
    path.write_bytes(f"cbuiltins\n{name}\n(S'1'\ntR.".encode())
    with pytest.raises(UnsafePickleError, match=f"builtins.{name}"):
        load_pickle(path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_and_containers_round_trip(tmp_path: Path, protocol: int) -> None:
    data = [
        {"v1": [1, 2, 3], "v2": np.arange(6, dtype=np.float32).reshape(2, 3)},
        {"v1": np.array(["", "x"]), "v2": [np.float64(2.4), np.int64(3)]},
        {"a", "b"},
        frozenset({1}),
        (1.5, True, None, "s"),
    ]
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    got = load_pickle(path)
    np.testing.assert_array_equal(got[0]["v2"], data[0]["v2"])
    assert got[0]["v2"].dtype == np.float32
    np.testing.assert_array_equal(got[1]["v1"], data[1]["v1"])
    assert got[1]["v2"] == [2.4, 3]
    assert got[2:] == data[2:]


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_pickle(tmp_path / "absent.pkl")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match=r"junk\.pkl"):
        load_pickle(junk)


def test_real_release_pickles_load(shared_data: Path) -> None:
    iemocap = load_pickle(shared_data / "IEMOCAP" / "IEMOCAP_features_raw_4way.pkl")
    mosi = load_pickle(shared_data / "CMUMOSI" / "CMUMOSI_features_raw_2way.pkl")
    assert len(iemocap) == 6
    assert len(iemocap[0]) == 151
    assert len(mosi) == 7
    assert len(mosi[0]) == 93
