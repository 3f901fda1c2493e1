"""The packed cache: written once, read after, rebuilt when a source changes, never a pickle."""

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

import erc_data.gcnet as gcnet
from erc_data import default_cache_dir, load_gcnet
from erc_data.synthetic import iemocap_like, write_gcnet_layout

NAMES = {"text": "t", "audio": "a"}


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    ds = iemocap_like(4, seed=0, num_dialogues=6, dims={"text": 6, "audio": 3}, max_length=9)
    return write_gcnet_layout(ds, tmp_path / "data", "IEMOCAPFour", NAMES)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every feature folder the loader reads from disk."""
    calls: list[str] = []
    real = gcnet.read_feature_folder

    def counting(folder, *args, **kwargs):
        calls.append(str(folder))
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(gcnet, "read_feature_folder", counting)
    return calls


def _load(layout: Path, cache: Path | bool, features=NAMES):
    return load_gcnet(layout, "IEMOCAPFour", features, cache_dir=cache)


def test_second_load_reads_the_cache(layout: Path, tmp_path: Path, reads: list[str]) -> None:
    cache = tmp_path / "cache"
    first = _load(layout, cache)
    assert len(reads) == 2
    files = list(cache.iterdir())
    assert len(files) == 1
    assert files[0].suffix == ".npz"
    assert files[0].name.startswith("IEMOCAPFour")
    second = _load(layout, cache)
    assert len(reads) == 2  # nothing read again
    for a, b in zip(first, second, strict=True):
        assert a.id == b.id
        assert a.utterance_ids == b.utterance_ids
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.features["audio"], b.features["audio"])
    assert second.folds == first.folds
    assert second.release_split == first.release_split
    assert second.speaker_names == first.speaker_names
    with np.load(files[0], allow_pickle=False) as z:  # readable with pickle disabled
        header = json.loads(z["header"].tobytes())
    assert header["signature"]["dataset"] == "IEMOCAPFour"


def test_one_file_per_feature_set(layout: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _load(layout, cache)
    _load(layout, cache, {"text": "t"})
    _load(layout, cache)
    assert len(list(cache.iterdir())) == 2


def _bump(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_changed_label_file_rebuilds(layout: Path, tmp_path: Path, reads: list[str]) -> None:
    cache = tmp_path / "cache"
    _load(layout, cache)
    _bump(layout / "IEMOCAP_features_raw_4way.pkl")
    _load(layout, cache)
    assert len(reads) == 4
    assert len(list(cache.iterdir())) == 1  # rebuilt in place, no temporary left behind


def test_changed_feature_folder_rebuilds(layout: Path, tmp_path: Path, reads: list[str]) -> None:
    cache = tmp_path / "cache"
    before = _load(layout, cache)
    uid = before[0].utterance_ids[0]
    time.sleep(0.01)
    np.save(layout / "features" / "a" / f"{uid}.npy", np.full(3, 7.0, dtype=np.float32))
    (layout / "features" / "a" / "extra.npy").write_bytes(
        b""
    )  # the folder changes: entry count and mtime
    after = _load(layout, cache)
    assert len(reads) == 4
    np.testing.assert_array_equal(after[0].features["audio"][0], np.full(3, 7.0))


def test_corrupt_cache_is_rebuilt(layout: Path, tmp_path: Path, reads: list[str]) -> None:
    cache = tmp_path / "cache"
    _load(layout, cache)
    (path,) = cache.iterdir()
    path.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable cache"):
        ds = _load(layout, cache)
    assert len(ds) == 6
    assert len(reads) == 4
    with np.load(path, allow_pickle=False) as z:
        assert "header" in z.files


def test_disabled_cache_writes_nothing(layout: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ERC_DATA_CACHE", str(tmp_path / "env-cache"))
    _load(layout, False)
    assert not (tmp_path / "env-cache").exists()
    _load(layout, None)  # the default honours $ERC_DATA_CACHE
    assert default_cache_dir() == tmp_path / "env-cache"
    assert len(list((tmp_path / "env-cache").iterdir())) == 1


def test_unwritable_cache_only_warns(layout: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.warns(UserWarning, match="could not write the cache"):
        ds = _load(layout, blocker / "cache")
    assert len(ds) == 6
