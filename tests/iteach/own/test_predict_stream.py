"""`iteach-app predict RUN --stream` / `--follow FILE`: JSON lines in, a prediction a line out,
equal to offline `predict` on a causal run; absent modalities; malformed lines skipped, counted."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.iteach.conftest import invoke as _invoke
from tests.iteach.own.conftest import tiny_model_flags, train_on_own_table

TINY_MODEL = (*tiny_model_flags(max_distance=3, eval_rates="0,0.5"), "--epochs", "2", "-q")
DROPPED = {"audio": ["s1c0u0", "s1c1u1", "s1c2u0", "s1c3u2"], "text": ["s1c0u1", "s1c4u0"]}


def _train(tmp_path_factory, own_table, *extra: str) -> Path:
    path, features = own_table(tmp_path_factory.mktemp("train") / "data")
    out = tmp_path_factory.mktemp("runs")
    return train_on_own_table(path, features, out, *TINY_MODEL, *extra, name="run")


@pytest.fixture(scope="module")
def causal_run(tmp_path_factory, own_table) -> Path:
    return _train(tmp_path_factory, own_table, "--causal")


@pytest.fixture(scope="module")
def new_table(tmp_path_factory, own_table) -> tuple[Path, dict[str, str]]:
    """Unseen labelled conversations (seed 1) with some text and audio arrays missing."""
    return own_table(tmp_path_factory.mktemp("new"), splits=None, seed=1, drop=DROPPED)


def _stream_lines(table: Path, features: dict[str, str]) -> list[str]:
    """The table's utterances as --stream input, conversations interleaved, each ended."""
    text = dict(np.load(features["text"]))
    audio_dir = Path(features["audio"])
    by_conversation: dict[str, list[dict]] = {}
    for line in table.read_text().splitlines():
        row = json.loads(line)
        uid = row["utterance_id"]
        audio = audio_dir / f"{uid}.npy"
        item = {
            "conversation_id": row["conversation_id"],
            "utterance_id": uid,
            "speaker": row["speaker"],
            "features": {
                "text": text[uid].tolist() if uid in text else None,
                "audio": np.load(audio).tolist() if audio.is_file() else None,
            },
        }
        by_conversation.setdefault(row["conversation_id"], []).append(item)
    lines = []
    while by_conversation:
        for cid in list(by_conversation):
            lines.append(json.dumps(by_conversation[cid].pop(0)))
            if not by_conversation[cid]:
                del by_conversation[cid]
                lines.append(json.dumps({"conversation_id": cid, "end": True}))
    return lines


def _offline(run: Path, table: Path, features: dict[str, str], features_arg) -> dict:
    out = table.parent / "offline.jsonl"
    result = _invoke(
        "predict",
        run,
        "--conversations",
        table,
        "--features",
        features_arg(features),
        "--out",
        out,
        "--overwrite",
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return {(r["conversation_id"], r["utterance_id"]): r for r in records}


def _assert_same(streamed: list[dict], offline: dict) -> None:
    assert len(streamed) == len(offline)
    for record in streamed:
        want = dict(offline[(record["conversation_id"], record["utterance_id"])])
        want.pop("label")
        assert list(record) == list(want)
        assert record["prediction"] == want["prediction"]
        assert record["present"] == want["present"]
        for name, p in want["probabilities"].items():
            assert record["probabilities"][name] == pytest.approx(p, abs=2e-6)


def test_stream_equals_offline_predict_on_a_causal_run(causal_run, new_table, features_arg):
    table, features = new_table
    lines = _stream_lines(table, features)
    result = _invoke("predict", causal_run, "--stream", stdin="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    streamed = [json.loads(line) for line in result.stdout.splitlines()]
    _assert_same(streamed, _offline(causal_run, table, features, features_arg))
    absent = {r["utterance_id"] for r in streamed if not r["present"]["audio"]}
    assert absent == set(DROPPED["audio"])
    conversations = len({r["conversation_id"] for r in streamed})
    assert (
        f"stream: {len(streamed)} utterances predicted in {conversations} conversations "
        f"({conversations} ended), 0 malformed lines skipped" in result.stderr
    )


def test_malformed_lines_are_reported_skipped_and_counted(causal_run):
    good = {"conversation_id": "a", "features": {"text": [0.1] * 8, "audio": None}}
    bad = [
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"features": {"text": [0.0] * 8}}),
        json.dumps({"conversation_id": "a"}),
        json.dumps({"conversation_id": "a", "features": {"text": [0.0] * 7}}),
        json.dumps({"conversation_id": "a", "features": {"smell": [1.0]}}),
        json.dumps({"conversation_id": "a", "features": {"text": None, "audio": None}}),
        '{"conversation_id": "a", "features": {"text": [NaN, 0, 0, 0, 0, 0, 0, 0]}}',
        json.dumps({"conversation_id": "nobody", "end": True}),
        json.dumps({"conversation_id": "a", "end": "yes"}),
        json.dumps({"conversation_id": "a", "utterance_id": 1.5, "features": good["features"]}),
    ]
    stdin = "\n".join([json.dumps(good), *bad, "", json.dumps(good)]) + "\n"
    result = _invoke("predict", causal_run, "--stream", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["utterance_id"] for r in records] == ["0", "1"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(errors) == len(bad)
    for number, fragment in zip(
        range(2, 2 + len(bad)),
        ["not JSON", "expected a JSON object", "conversation_id must be", "features must be",
         "features['text'] has shape (7,)", "unknown modality 'smell'", "every modality is absent",
         "features['text'] holds NaN or inf", "'nobody' is not open", "end must be true",
         "utterance_id must be"],
        strict=True,
    ):  # fmt: skip
        assert any(e.startswith(f"line {number}: skipped: ") and fragment in e for e in errors), (
            number,
            fragment,
        )
    assert f"{len(bad)} malformed lines skipped of {len(bad) + 3} read" in result.stderr


def test_follow_reads_a_growing_file(causal_run, new_table, tmp_path, features_arg):
    table, features = new_table
    lines = _stream_lines(table, features)
    path = tmp_path / "live.jsonl"
    path.write_text("\n".join(lines[:3]) + "\n")

    def grow() -> None:
        time.sleep(0.3)
        with path.open("a") as handle:
            for line in lines[3:]:
                handle.write(line[:10])
                handle.flush()
                handle.write(line[10:] + "\n")
                handle.flush()

    writer = threading.Thread(target=grow)
    writer.start()
    result = _invoke("predict", causal_run, "--follow", path, "--idle-exit", "1.5")
    writer.join()
    assert result.exit_code == 0, result.stderr
    streamed = [json.loads(line) for line in result.stdout.splitlines()]
    _assert_same(streamed, _offline(causal_run, table, features, features_arg))


def test_stream_options_are_checked(causal_run, new_table):
    table, _ = new_table
    result = _invoke("predict", causal_run, "--stream", "--conversations", table)
    assert result.exit_code == 2
    assert "drop --conversations" in result.stderr
    result = _invoke("predict", causal_run)
    assert result.exit_code == 2
    assert "--conversations TABLE" in result.stderr
    result = _invoke("predict", causal_run, "--stream", "--idle-exit", "1")
    assert result.exit_code == 2
    assert "--idle-exit applies to --follow" in result.stderr


def test_a_run_without_causal_falls_back_and_says_so(tmp_path_factory, own_table):
    run = _train(tmp_path_factory, own_table)
    good = {"conversation_id": "a", "features": {"text": [0.1] * 8, "audio": [0.0] * 5}}
    result = _invoke("predict", run, "--stream", stdin=json.dumps(good) + "\n")
    assert result.exit_code == 0, result.stderr
    assert "not causal" in result.stderr
    assert "re-runs the model on the conversation so far" in result.stderr
    assert len(result.stdout.splitlines()) == 1
