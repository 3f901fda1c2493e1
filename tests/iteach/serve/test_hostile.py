"""Hostile requests: each gets a 4xx JSON error naming the field (never a 500), and on the
WebSocket an error frame after which the same socket still answers, or a clean close."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.iteach.serve.conftest import live_uvicorn

GOOD = {"text": [0.1] * 8, "audio": [0.2] * 4, "video": None}


def _one(**features: Any) -> dict[str, Any]:
    return {"utterances": [{"utterance_id": "u0", "features": {**GOOD, **features}}]}


def _many(count: int, conversations: int = 1) -> dict[str, Any]:
    return {"utterances": [{"conversation_id": f"c{k % conversations}", "utterance_id": f"u{k}",
                            "features": GOOD} for k in range(count)]}  # fmt: skip


# (name, method, path, body: bytes | JSON object, extra headers, status, field)
HTTP_CASES: list[tuple[str, str, str, Any, dict[str, str], int, str]] = [
    ("not JSON", "POST", "/v1/predict", b"{utterances:", {}, 400, "body"),
    ("nested 100k deep", "POST", "/v1/predict", b"[" * 100_000 + b"]" * 100_000, {}, 413, "body"),
    ("nested 20k deep", "POST", "/v1/predict", b"[" * 20_000 + b"]" * 20_000, {}, 400, "body"),
    ("a list, not an object", "POST", "/v1/predict", [1, 2], {}, 422, "utterances"),
    ("utterances a string", "POST", "/v1/predict", {"utterances": "x"}, {}, 422, "utterances"),
    ("no utterances", "POST", "/v1/predict", {"utterances": []}, {}, 422, "utterances"),
    (
        "unknown top-level field",
        "POST",
        "/v1/predict",
        {**_one(), "path": "/etc/passwd"},
        {},
        422,
        "path",
    ),
    ("utterance a number", "POST", "/v1/predict", {"utterances": [3]}, {}, 422, "utterances[0]"),
    (
        "unknown utterance field",
        "POST",
        "/v1/predict",
        {"utterances": [{"features": GOOD, "file": "/etc/passwd"}]},
        {},
        422,
        "utterances[0].file",
    ),
    (
        "features missing",
        "POST",
        "/v1/predict",
        {"utterances": [{"utterance_id": "u"}]},
        {},
        422,
        "utterances[0].features",
    ),
    (
        "features a list",
        "POST",
        "/v1/predict",
        {"utterances": [{"features": [1]}]},
        {},
        422,
        "utterances[0].features",
    ),
    (
        "unknown modality",
        "POST",
        "/v1/predict",
        _one(smell=[1.0]),
        {},
        422,
        "utterances[0].features.smell",
    ),
    (
        "wrong dim",
        "POST",
        "/v1/predict",
        _one(text=[0.0] * 7),
        {},
        422,
        "utterances[0].features.text",
    ),
    (
        "NaN",
        "POST",
        "/v1/predict",
        json.dumps(_one(text=[0.0] * 7 + [float("nan")])).encode(),
        {},
        422,
        "utterances[0].features.text[7]",
    ),
    (
        "Infinity",
        "POST",
        "/v1/predict",
        json.dumps(_one(audio=[float("-inf"), 0, 0, 0])).encode(),
        {},
        422,
        "utterances[0].features.audio[0]",
    ),
    (
        "beyond float32",
        "POST",
        "/v1/predict",
        _one(audio=[1e39, 0, 0, 0]),
        {},
        422,
        "utterances[0].features.audio[0]",
    ),
    (
        "a string value",
        "POST",
        "/v1/predict",
        _one(audio=["1", 0, 0, 0]),
        {},
        422,
        "utterances[0].features.audio[0]",
    ),
    (
        "a boolean value",
        "POST",
        "/v1/predict",
        _one(audio=[True, 0, 0, 0]),
        {},
        422,
        "utterances[0].features.audio[0]",
    ),
    (
        "a nested list value",
        "POST",
        "/v1/predict",
        _one(audio=[[0], 0, 0, 0]),
        {},
        422,
        "utterances[0].features.audio[0]",
    ),
    (
        "every modality absent",
        "POST",
        "/v1/predict",
        _one(text=None, audio=None),
        {},
        422,
        "utterances[0].features",
    ),
    (
        "id of 300 characters",
        "POST",
        "/v1/predict",
        {"utterances": [{"utterance_id": "x" * 300, "features": GOOD}]},
        {},
        422,
        "utterances[0].utterance_id",
    ),
    (
        "id an object",
        "POST",
        "/v1/predict",
        {"utterances": [{"conversation_id": {"a": 1}, "features": GOOD}]},
        {},
        422,
        "utterances[0].conversation_id",
    ),
    (
        "speaker a list",
        "POST",
        "/v1/predict",
        {"utterances": [{"speaker": ["A"], "features": GOOD}]},
        {},
        422,
        "utterances[0].speaker",
    ),
    (
        "repeated utterance id",
        "POST",
        "/v1/predict",
        {"utterances": [{"utterance_id": "u", "features": GOOD}] * 2},
        {},
        422,
        "utterances[1].utterance_id",
    ),
    (
        "21 utterances, limit 20",
        "POST",
        "/v1/predict",
        _many(21),
        {},
        413,
        "utterances[20].conversation_id",
    ),
    (
        "4 conversations, limit 3",
        "POST",
        "/v1/predict",
        _many(4, 4),
        {},
        413,
        "utterances[3].conversation_id",
    ),
    ("body of 70 kB, limit 64 KiB", "POST", "/v1/predict", b" " * 70_000 + b"{}", {}, 413, "body"),
    (
        "Content-Length of 10 GB",
        "POST",
        "/v1/predict",
        b"{}",
        {"content-length": "10000000000"},
        413,
        "body",
    ),
    ("path traversal", "GET", "/static/../../../etc/passwd", None, {}, 404, "path"),
    ("encoded traversal", "GET", "/static/..%2f..%2fconftest.py", None, {}, 404, "path"),
    ("unknown route", "GET", "/v1/files", None, {}, 404, "path"),
    ("PUT on predict", "PUT", "/v1/predict", {}, {}, 405, "method"),
    ("GET on predict", "GET", "/v1/predict", None, {}, 405, "method"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "field"),
    [case[1:] for case in HTTP_CASES],
    ids=[case[0] for case in HTTP_CASES],
)
def test_hostile_http_request_gets_a_4xx_naming_the_field(
    client, method, path, body, headers, status, field
) -> None:
    content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    response = client.request(method, path, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert client.get("/health").status_code == 200


# (name, frame: str | bytes, field of the error frame)
WS_CASES: list[tuple[str, Any, str]] = [
    ("binary frame", b"\x00\x01", "message"),
    ("not JSON", "{utterance", "message"),
    ("nested 20k deep", "[" * 20_000 + "]" * 20_000, "message"),
    ("a list", "[1, 2]", "message"),
    ("unknown modality", json.dumps({"features": {"smell": [1]}}), "message.features.smell"),
    ("wrong dim", json.dumps({"features": {"text": [1.0]}}), "message.features.text"),
    ("NaN", '{"features": {"audio": [NaN, 0, 0, 0]}}', "message.features.audio[0]"),
    ("every modality absent", json.dumps({"features": {"text": None}}), "message.features"),
    ("end not true", json.dumps({"end": "yes"}), "message.end"),
    ("unknown field", json.dumps({"features": GOOD, "open": "/etc/passwd"}), "message.open"),
]


@pytest.mark.parametrize(
    ("frame", "field"), [c[1:] for c in WS_CASES], ids=[c[0] for c in WS_CASES]
)
def test_hostile_stream_frame_gets_an_error_frame_and_the_socket_still_answers(
    client, frame, field
) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        if isinstance(frame, bytes):
            ws.send_bytes(frame)
        else:
            ws.send_text(frame)
        error = ws.receive_json()
        assert error["error"]["field"] == field
        assert 400 <= error["status"] < 500
        ws.send_text(json.dumps({"utterance_id": "ok", "features": GOOD}))
        assert ws.receive_json()["utterance_id"] == "ok"


def test_stream_past_the_utterance_limit_is_refused_and_ends_cleanly(client) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        for k in range(20):
            ws.send_text(json.dumps({"utterance_id": f"u{k}", "features": GOOD}))
            assert ws.receive_json()["utterance_id"] == f"u{k}"
        ws.send_text(json.dumps({"utterance_id": "u20", "features": GOOD}))
        error = ws.receive_json()
        assert (error["error"]["field"], error["status"]) == ("utterances", 413)
        ws.send_text(json.dumps({"end": True}))
        end = ws.receive_json()
        assert end["end"] is True
        assert end["utterances"] == 20


@pytest.fixture(scope="module")
def live_server(runtime):
    """A real uvicorn (64 KiB frames at most, 2 open streams) on a loopback port, in a thread."""
    pytest.importorskip("uvicorn", reason="uvicorn is not installed (the serve extra)")
    from iteach_app.serve.app import create_app
    from iteach_app.serve.limits import Limits

    limits = Limits(max_body_bytes=64 * 1024, max_streams=2)
    app = create_app(runtime, limits=limits)
    with live_uvicorn(app, ws_max_size=limits.max_body_bytes) as port:
        yield f"ws://127.0.0.1:{port}/v1/stream"


def test_oversized_frame_closes_the_socket_with_1009(live_server) -> None:
    websockets = pytest.importorskip("websockets.sync.client", reason="websockets is not installed")
    from websockets.exceptions import ConnectionClosed

    with websockets.connect(live_server, max_size=None) as ws:
        ws.send(json.dumps({"features": {"text": [0.5] * 20_000}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


def test_a_stream_past_the_server_capacity_is_closed_with_1013(live_server) -> None:
    websockets = pytest.importorskip("websockets.sync.client", reason="websockets is not installed")
    from websockets.exceptions import ConnectionClosed

    with websockets.connect(live_server) as first, websockets.connect(live_server) as second:
        for ws in (first, second):
            ws.send(json.dumps({"utterance_id": "u0", "features": GOOD}))
            assert json.loads(ws.recv(timeout=30))["utterance_id"] == "u0"
        with websockets.connect(live_server) as third:
            error = json.loads(third.recv(timeout=30))
            assert error["error"]["field"] == "streams"
            with pytest.raises(ConnectionClosed) as closed:
                third.recv(timeout=30)
            assert closed.value.rcvd.code == 1013
