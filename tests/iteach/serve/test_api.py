"""The API end to end in-process: predictions equal the student's, the stream equals the model
on each prefix, the model description, the token, and the schema."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from iteach_app.config import TrainConfig
from iteach_app.serve.app import create_app
from iteach_app.training.run_folder import RunFolder


def _reference(runtime, utterances) -> np.ndarray:
    """(L, C) probabilities of the student on the conversation, built here from the raw lists."""
    mods = runtime.info.modalities
    length = len(utterances)
    features = {m: torch.zeros(1, length, d) for m, d in mods.items()}
    present = torch.zeros(1, length, len(mods), dtype=torch.bool)
    for row, u in enumerate(utterances):
        for k, m in enumerate(mods):
            if u["features"].get(m) is not None:
                features[m][0, row] = torch.tensor(u["features"][m])
                present[0, row, k] = True
    with torch.no_grad():
        logits = runtime.student(
            features=features,
            utterance_mask=torch.ones(1, length, dtype=torch.bool),
            present=present,
        )
    return torch.softmax(logits[0], -1).numpy()


def _probabilities(records) -> np.ndarray:
    return np.array([list(r["probabilities"].values()) for r in records])


@pytest.mark.parametrize("length", [1, 3, 11])
def test_predict_equals_the_student_on_the_conversation(
    client, runtime, utterances_for, length
) -> None:
    utterances = utterances_for(length, seed=length)
    response = client.post("/v1/predict", json={"utterances": utterances})
    assert response.status_code == 200, response.text
    records = response.json()["predictions"]
    assert [r["utterance_id"] for r in records] == [u["utterance_id"] for u in utterances]
    np.testing.assert_allclose(_probabilities(records), _reference(runtime, utterances), atol=2e-6)
    classes = runtime.info.classes
    assert [r["prediction"] for r in records] == [
        classes[int(np.argmax(list(r["probabilities"].values())))] for r in records
    ]
    for record, utterance in zip(records, utterances, strict=True):
        assert set(record) == {
            "conversation_id",
            "utterance_id",
            "prediction",
            "probabilities",
            "present",
        }
        assert record["present"] == {m: v is not None for m, v in utterance["features"].items()}


def test_interleaved_conversations_are_predicted_apart_and_answered_in_order(
    client, utterances_for
) -> None:
    a = utterances_for(4, seed=1, conversation_id="a")
    b = utterances_for(3, seed=2, conversation_id="b")
    mixed = [a[0], b[0], a[1], b[1], b[2], a[2], a[3]]
    records = client.post("/v1/predict", json={"utterances": mixed}).json()["predictions"]
    assert [(r["conversation_id"], r["utterance_id"]) for r in records] == [
        (u["conversation_id"], u["utterance_id"]) for u in mixed
    ]
    alone = client.post("/v1/predict", json={"utterances": a}).json()["predictions"]
    assert [r for r in records if r["conversation_id"] == "a"] == alone


def test_stream_gives_one_prediction_per_utterance_equal_to_the_prefix(
    client, utterances_for
) -> None:
    utterances = utterances_for(6, seed=7)
    with client.websocket_connect("/v1/stream") as ws:
        for k, utterance in enumerate(utterances):
            ws.send_text(json.dumps(utterance))
            record = ws.receive_json()
            prefix = client.post("/v1/predict", json={"utterances": utterances[: k + 1]})
            assert record == prefix.json()["predictions"][-1]
        ws.send_text(json.dumps({"end": True}))
        assert ws.receive_json() == {"end": True, "conversation_id": "c1", "utterances": 6}


def test_stream_error_frames_keep_the_socket_usable(client, utterances_for) -> None:
    good = utterances_for(2, seed=3)
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps(good[0]))
        assert ws.receive_json()["utterance_id"] == "u0"
        ws.send_text(json.dumps({**good[1], "conversation_id": "other"}))
        assert ws.receive_json()["error"]["field"] == "conversation_id"
        ws.send_text(json.dumps(good[0]))
        assert ws.receive_json()["error"]["field"] == "utterance_id"
        ws.send_text(json.dumps(good[1]))
        assert ws.receive_json()["utterance_id"] == "u1"


def test_model_describes_the_run(client, runtime, served_run) -> None:
    body = client.get("/v1/model").json()
    config: TrainConfig = RunFolder(served_run).read_config()
    assert body["config_hash"] == config.config_hash()
    assert body["classes"] == runtime.info.classes
    assert len(body["classes"]) == 4
    assert body["modalities"] == [{"name": "text", "dim": 8}, {"name": "audio", "dim": 4},
                                  {"name": "video", "dim": 6}]  # fmt: skip
    assert body["task"] == "classification"
    assert body["runtime"] == "torch"
    assert body["limits"]["max_utterances"] == 20
    assert client.get("/health").json()["status"] == "ok"


def test_openapi_schema_lists_the_routes_and_the_request_body(client) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/model", "/health"} <= set(schema["paths"])
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/PredictRequest"
    assert "UtteranceIn" in schema["components"]["schemas"]


def test_page_and_its_assets_are_served_without_any_outside_address(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
    assert "https://" not in page.text
    assert "http://" not in page.text


def test_token_is_required_on_v1_and_accepted_when_right(
    locked_client, utterances_for, token
) -> None:
    utterances = utterances_for(2)
    assert locked_client.get("/health").status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
        response = locked_client.post(
            "/v1/predict", json={"utterances": utterances}, headers=headers
        )
        assert response.status_code == 401
        assert response.json()["error"]["field"] == "Authorization"
        assert response.headers["www-authenticate"] == "Bearer"
    ok = {"Authorization": f"Bearer {token}"}
    assert (
        locked_client.post("/v1/predict", json={"utterances": utterances}, headers=ok).status_code
        == 200
    )
    assert locked_client.get("/v1/model", headers=ok).status_code == 200


def test_stream_with_a_token_takes_it_in_the_first_frame_or_closes_1008(
    locked_client, utterances_for, token
) -> None:
    from starlette.websockets import WebSocketDisconnect

    utterance = utterances_for(1)[0]
    with locked_client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"token": token}))
        assert ws.receive_json() == {"authorized": True}
        ws.send_text(json.dumps(utterance))
        assert ws.receive_json()["utterance_id"] == "u0"
    with locked_client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps(utterance))
        assert ws.receive_json()["error"]["field"] == "token"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008
    headers = {"Authorization": f"Bearer {token}"}
    with locked_client.websocket_connect("/v1/stream", headers=headers) as ws:
        ws.send_text(json.dumps(utterance))
        assert ws.receive_json()["utterance_id"] == "u0"


def test_causal_run_streams_incrementally_and_equals_the_whole_conversation(
    causal_runtime, utterances_for
) -> None:
    """A causal run's prediction of an utterance does not depend on later ones, so the stream
    (one StreamingPredictor step per utterance) answers what POST answers for the whole."""
    with TestClient(create_app(causal_runtime)) as causal_client:
        assert causal_client.get("/v1/model").json()["streaming"] == "incremental (causal run)"
        utterances = utterances_for(12, seed=21)
        whole = causal_client.post("/v1/predict", json={"utterances": utterances}).json()
        with causal_client.websocket_connect("/v1/stream") as ws:
            streamed = []
            for utterance in utterances:
                ws.send_text(json.dumps(utterance))
                streamed.append(ws.receive_json())
        deadline = time.monotonic() + 30  # the server frees the socket's state as it ends
        while causal_runtime.predictor.active() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert causal_runtime.predictor.active() == []
    for got, want in zip(streamed, whole["predictions"], strict=True):
        assert got["prediction"] == want["prediction"]
        assert got["present"] == want["present"]
        np.testing.assert_allclose(
            list(got["probabilities"].values()), list(want["probabilities"].values()), atol=1e-5
        )
