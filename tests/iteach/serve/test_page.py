"""The page at / in a real headless Chromium (Debian's `chromium`, driven by playwright): load it,
paste a conversation, and read the rendered predictions back; they must equal the API's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).is_file()),
    None,
)
if CHROMIUM is None:
    pytest.skip(
        "no chromium executable (install Debian's `chromium` package: apt-get install -y chromium)",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
pytest.importorskip("uvicorn", reason="uvicorn is not installed (the serve extra)")

from iteach_app.serve.app import create_app  # noqa: E402
from tests.iteach.serve.conftest import live_uvicorn  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def server(runtime):
    """The app in a real uvicorn on a loopback port, in a thread."""
    with live_uvicorn(create_app(runtime)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def page(server):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 1000})
        tab.goto(server + "/")
        tab.wait_for_function(
            "document.getElementById('model-info').textContent.includes('config')"
        )
        yield tab
        browser.close()


def _rendered(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#predictions tbody tr.prediction",
        """rows => rows.map(r => ({
            conversation_id: r.dataset.conversationId, utterance_id: r.dataset.utteranceId,
            prediction: r.dataset.prediction, probabilities: JSON.parse(r.dataset.probabilities),
            present: JSON.parse(r.dataset.present), shown: r.cells[3].textContent,
            badges: [...r.querySelectorAll('.badge.on')].map(b => b.textContent)}))""",
    )


def test_page_renders_the_apis_predictions_of_a_pasted_conversation(page, client, utterances_for):
    utterances = utterances_for(9, seed=11)
    page.fill("#conversation", "\n".join(json.dumps(u) for u in utterances))
    page.evaluate("delete document.body.dataset.done")
    page.click("#predict-all")
    page.wait_for_function("document.body.dataset.done === 'predict'")
    rendered = _rendered(page)
    expected = client.post("/v1/predict", json={"utterances": utterances}).json()["predictions"]
    assert len(rendered) == len(expected) == 9
    for got, want in zip(rendered, expected, strict=True):
        assert got["shown"] == want["prediction"] == got["prediction"]
        assert got["probabilities"] == want["probabilities"]
        assert got["present"] == want["present"]
        assert got["badges"] == [m for m, on in want["present"].items() if on]
    lines = page.eval_on_selector_all("#chart polyline.series", "ls => ls.length")
    assert lines == 4  # one line per class over the conversation


def test_page_streams_utterances_one_at_a_time_as_the_socket_answers(page, client, utterances_for):
    utterances = utterances_for(5, seed=12, conversation_id="live")
    page.fill("#conversation", "\n".join(json.dumps(u) for u in utterances))
    page.evaluate("delete document.body.dataset.done")
    page.click("#stream-all")
    page.wait_for_function("document.body.dataset.done === 'stream'")
    rendered = _rendered(page)
    with client.websocket_connect("/v1/stream") as ws:
        expected = []
        for utterance in utterances:
            ws.send_text(json.dumps(utterance))
            expected.append(ws.receive_json())
    assert [r["utterance_id"] for r in rendered] == [u["utterance_id"] for u in utterances]
    for got, want in zip(rendered, expected, strict=True):
        assert (got["prediction"], got["probabilities"]) == (
            want["prediction"],
            want["probabilities"],
        )


def test_page_shows_the_apis_error_naming_the_field(page, utterances_for):
    bad = utterances_for(1)[0]
    bad["features"]["text"] = [1.0, 2.0]
    page.fill("#conversation", json.dumps(bad))
    page.click("#predict-all")
    page.wait_for_function("document.getElementById('status').className === 'error'")
    assert "utterances[0].features.text" in page.text_content("#status")
