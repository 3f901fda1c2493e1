"""`predict --stream`: utterances as JSON lines in, one prediction as a JSON line out per utterance.

An input line is one of

    {"conversation_id": "c1", "utterance_id": "u7", "speaker": "A",
     "features": {"text": [0.1, ...], "audio": null}}
    {"conversation_id": "c1", "end": true}

``utterance_id`` and ``speaker`` are optional, a modality left out or null is absent, other keys
are ignored. Each prediction is written and flushed as soon as its line is read. A malformed line
(not JSON, missing fields, a bad vector, ending a conversation that is not open) gets one line
on the error stream, naming the input line and the fault, and is skipped: the stream goes on.
Blank lines are skipped silently.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from iteach_app.streaming.predictor import StreamingPredictor


@dataclass
class StreamSummary:
    """What one stream did: lines read, predictions written, conversations, malformed lines."""

    lines: int = 0
    predicted: int = 0
    ended: int = 0
    malformed: int = 0
    conversations: set[str] = field(default_factory=set)
    interrupted: bool = False

    def line(self) -> str:
        return (
            f"stream{' (interrupted)' if self.interrupted else ''}: {self.predicted} utterances "
            f"predicted in {len(self.conversations)} conversations ({self.ended} ended), "
            f"{self.malformed} malformed lines skipped of {self.lines} read"
        )


class LineError(ValueError):
    """One input line cannot be used; the message names the fault."""


def parse_line(text: str) -> dict[str, Any]:
    """A checked input object: conversation_id, and either end=True or features (+ ids)."""
    try:
        item = json.loads(text)
    except json.JSONDecodeError as err:
        raise LineError(f"not JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(item, dict):
        raise LineError(f"expected a JSON object, got {type(item).__name__}")
    cid = item.get("conversation_id")
    if not isinstance(cid, str) or not cid:
        raise LineError(f"conversation_id must be a non-empty string, got {cid!r}")
    if "end" in item:
        if item["end"] is not True:
            raise LineError(f"end must be true (to close the conversation), got {item['end']!r}")
        return {"conversation_id": cid, "end": True}
    features = item.get("features")
    if not isinstance(features, dict):
        what = "missing" if features is None else f"a {type(features).__name__}"
        raise LineError(
            f"features must be an object modality -> list of numbers or null, got {what}"
        )
    uid = item.get("utterance_id")
    if isinstance(uid, int) and not isinstance(uid, bool):
        uid = str(uid)
    if uid is not None and not isinstance(uid, str):
        raise LineError(f"utterance_id must be a string or an integer, got {uid!r}")
    speaker = item.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise LineError(f"speaker must be a string, got {speaker!r}")
    return {"conversation_id": cid, "utterance_id": uid, "speaker": speaker, "features": features}


def run_stream(
    predictor: StreamingPredictor, lines: Iterable[str], out: TextIO, err: TextIO
) -> StreamSummary:
    """Predict every utterance line of ``lines`` onto ``out`` (flushed per line); faults to
    ``err``. Ctrl-C ends the stream with the summary so far (``interrupted``)."""
    summary = StreamSummary()
    try:
        _consume(predictor, lines, out, err, summary)
    except KeyboardInterrupt:
        summary.interrupted = True
    return summary


def _consume(
    predictor: StreamingPredictor,
    lines: Iterable[str],
    out: TextIO,
    err: TextIO,
    summary: StreamSummary,
) -> None:
    for number, text in enumerate(lines, start=1):
        summary.lines = number
        if not text.strip():
            continue
        try:
            item = parse_line(text)
            cid = item["conversation_id"]
            if item.get("end"):
                predictor.end(cid)
                summary.ended += 1
                continue
            prediction = predictor.push(
                cid, item["features"], speaker=item["speaker"], utterance_id=item["utterance_id"]
            )
        except ValueError as fault:
            summary.malformed += 1
            err.write(f"line {number}: skipped: {fault}\n")
            err.flush()
            continue
        summary.predicted += 1
        summary.conversations.add(cid)
        out.write(json.dumps(prediction.to_dict()) + "\n")
        out.flush()


def read_lines(stream: TextIO) -> Iterator[str]:
    """Lines of ``stream`` as each arrives (no read-ahead that would hold a line back)."""
    return iter(stream.readline, "")


def follow(path: Path, *, idle_exit: float | None = None, poll: float = 0.05) -> Iterator[str]:
    """Lines of a growing file, as ``tail -f`` (from its start); a last line without its newline
    is held until it is complete. Stops after ``idle_exit`` seconds without a new line (None:
    never, end with Ctrl-C)."""
    with path.open("r", encoding="utf-8") as handle:
        partial = ""
        quiet_since = time.monotonic()
        while True:
            chunk = handle.readline()
            if chunk:
                partial += chunk
                if partial.endswith("\n"):
                    yield partial
                    partial = ""
                    quiet_since = time.monotonic()
                continue
            if idle_exit is not None and time.monotonic() - quiet_since >= idle_exit:
                if partial:
                    yield partial
                return
            time.sleep(poll)
