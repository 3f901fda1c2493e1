"""`iteach-app export RUN --format onnx`: onnxruntime's outputs equal torch's to 1e-4 on random
conversation lengths with padding and missing modalities, and the service answers the same
predictions with either runtime."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (the serve extra)")
pytest.importorskip("onnxscript", reason="onnxscript is not installed (the serve extra)")

from fastapi.testclient import TestClient

from iteach_app.cli import app
from iteach_app.serve.app import create_app
from iteach_app.serve.runtime import OnnxRuntime
from iteach_app.training.run_folder import RunFolder


@pytest.fixture(scope="module")
def exported(served_run):
    result = CliRunner().invoke(app, ["export", str(served_run), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    path = RunFolder(served_run).onnx
    assert path.is_file()
    return path


@pytest.fixture(scope="module")
def session(exported):
    import onnxruntime as ort

    return ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("seed", range(6))
def test_onnx_equals_torch_on_random_lengths_padding_and_missing_modalities(
    session, runtime, seed
) -> None:
    rng = np.random.default_rng(seed)
    dims = runtime.info.modalities
    batch_length = int(rng.integers(2, 60))
    length = int(rng.integers(1, batch_length + 1))  # the rest is padding
    features = {
        m: rng.normal(size=(1, batch_length, d)).astype(np.float32) for m, d in dims.items()
    }
    present = rng.random((1, batch_length, len(dims))) > 0.5
    present[..., int(rng.integers(len(dims)))] |= ~present.any(-1)
    mask = np.arange(batch_length)[None] < length
    with torch.no_grad():
        expected = runtime.student(
            features={m: torch.from_numpy(x) for m, x in features.items()},
            utterance_mask=torch.from_numpy(mask),
            present=torch.from_numpy(present),
        ).numpy()
    feeds = {f"features.{m}": x for m, x in features.items()}
    got = session.run(["logits"], {**feeds, "present": present, "utterance_mask": mask})[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got[mask], expected[mask], atol=1e-4, rtol=0)


def test_served_onnx_answers_as_torch_does(exported, client, utterances_for) -> None:
    onnx_runtime = OnnxRuntime(exported)
    assert onnx_runtime.info.config_hash == client.get("/v1/model").json()["config_hash"]
    with TestClient(create_app(onnx_runtime)) as onnx_client:
        assert onnx_client.get("/v1/model").json()["runtime"] == "onnx"
        for length in (1, 2, 9):
            body = {"utterances": utterances_for(length, seed=40 + length)}
            got = onnx_client.post("/v1/predict", json=body).json()["predictions"]
            want = client.post("/v1/predict", json=body).json()["predictions"]
            assert [r["prediction"] for r in got] == [r["prediction"] for r in want]
            for a, b in zip(got, want, strict=True):
                assert a["present"] == b["present"]
                np.testing.assert_allclose(
                    list(a["probabilities"].values()), list(b["probabilities"].values()), atol=1e-4
                )


def test_serve_onnx_without_an_export_says_how_to_make_one(tmp_path, served_run) -> None:
    result = CliRunner().invoke(
        app, ["serve", str(served_run), "--runtime", "onnx", "--onnx", str(tmp_path / "none.onnx")]
    )
    assert result.exit_code == 2
    assert "iteach-app export" in result.output
