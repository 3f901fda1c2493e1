"""`StreamingPredictor`: one push per utterance equals the causal model run on the whole prefix
(random lengths, conversations interleaved, padding in the reference batch, missing modalities,
float32 and float64); input validation; open / end; the prefix fallback; a trained run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import iteach_app
from iteach_app import Prediction, StreamingPredictor
from iteach_app.model import create_model
from iteach_app.prediction import Predictions
from iteach_app.streaming import IncrementalITEACH, PrefixEngine

DIMS = {"text": 7, "audio": 5, "video": 3}


def _model(name="iteach_student", ecce="full", dtype=torch.float64, out_dim=3, causal=True, **kw):
    torch.manual_seed(1)
    settings = {"hidden_dim": 16, "num_heads": 4, "window": 3, "max_distance": 4, **kw}
    model = create_model(name, DIMS, out_dim, ecce=ecce, causal=causal, **settings)
    return model.to(dtype).eval()


def _conversations(generator: torch.Generator, count: int, longest: int, dtype: torch.dtype):
    """Random conversations: lengths 1..longest, features, presence (at least one modality)."""
    out = []
    for _ in range(count):
        length = int(torch.randint(1, longest + 1, (1,), generator=generator))
        feats = {
            m: torch.randn(length, d, generator=generator, dtype=dtype) for m, d in DIMS.items()
        }
        present = torch.rand(length, len(DIMS), generator=generator) > 0.4
        present[~present.any(-1), int(torch.randint(3, (1,), generator=generator))] = True
        out.append((feats, present))
    return out


def _padded_reference(model, conversations, dtype) -> list[torch.Tensor]:
    """The model once on all conversations, padded to the longest: each one's (L_i, C) outputs."""
    longest = max(p.shape[0] for _, p in conversations)
    batch = len(conversations)
    feats = {m: torch.zeros(batch, longest, d, dtype=dtype) for m, d in DIMS.items()}
    mask = torch.zeros(batch, longest, dtype=torch.bool)
    present = torch.zeros(batch, longest, len(DIMS), dtype=torch.bool)
    for b, (f, p) in enumerate(conversations):
        n = p.shape[0]
        for m in DIMS:
            feats[m][b, :n] = f[m]
        mask[b, :n] = True
        present[b, :n] = p
    with torch.no_grad():
        out = model(feats, mask, present)
    return [out[b, : p.shape[0]] for b, (_, p) in enumerate(conversations)]


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("name", "ecce"),
    [("iteach_student", "full"), ("iteach_student", "none"), ("iteach_teacher", "full"),
     ("iteach_teacher", "global")],
)  # fmt: skip
def test_steps_equal_the_causal_model_on_every_prefix(name, ecce, dtype, batched) -> None:
    generator = torch.Generator().manual_seed(len(name) + len(ecce))
    model = _model(name, ecce, dtype)
    engine = IncrementalITEACH(model)
    conversations = _conversations(generator, 5, 17, dtype)  # longer than max_distance 4
    reference = _padded_reference(model, conversations, dtype)
    states = [engine.new_state() for _ in conversations]
    steps: list[list[torch.Tensor]] = [[] for _ in conversations]
    starts = [0, 3, 0, 7, 1]  # conversations open at different rounds: positions differ
    for round_ in range(30):  # every open conversation advances one utterance per round
        due = [
            c for c, (_, present) in enumerate(conversations)
            if 0 <= round_ - starts[c] < present.shape[0]
        ]  # fmt: skip
        rows = [(c, round_ - starts[c], conversations[c][0], conversations[c][1]) for c in due]
        if batched and rows:
            out = engine.step_many(
                [states[c] for c, *_ in rows],
                {m: torch.stack([f[m][t] for _, t, f, _ in rows]) for m in DIMS},
                torch.stack([p[t] for _, t, _, p in rows]),
            )
            for (c, *_), row in zip(rows, out, strict=True):
                steps[c].append(row)
            continue
        for c, t, feats, present in rows:
            flags = {m: bool(present[t, k]) for k, m in enumerate(DIMS)}
            steps[c].append(engine.step(states[c], {m: x[t] for m, x in feats.items()}, flags))
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    for got, want in zip(steps, reference, strict=True):
        assert (torch.stack(got) - want).abs().max() < tol


def test_absent_rows_may_hold_anything() -> None:
    model = _model()
    engine = IncrementalITEACH(model)
    a, b = engine.new_state(), engine.new_state()
    row = {m: torch.randn(d, dtype=torch.float64) for m, d in DIMS.items()}
    junk = {**row, "audio": torch.full((5,), 1e6, dtype=torch.float64)}
    flags = {"text": True, "audio": False, "video": True}
    assert torch.equal(engine.step(a, row, flags), engine.step(b, junk, flags))


def test_predictor_matches_model_and_keeps_conversations_apart() -> None:
    generator = torch.Generator().manual_seed(4)
    model = _model(dtype=torch.float32)
    predictor = StreamingPredictor(model, task="classification", class_names=["a", "b", "c"])
    assert predictor.incremental
    assert predictor.modalities == DIMS
    assert predictor.classes == ["a", "b", "c"]
    conversations = _conversations(generator, 3, 9, torch.float32)
    reference = _padded_reference(model, conversations, torch.float32)
    got: dict[int, list[Prediction]] = {0: [], 1: [], 2: []}
    for t in range(9):
        for c, (feats, present) in enumerate(conversations):
            if t < present.shape[0]:
                row = {
                    m: (feats[m][t].tolist() if present[t, k] else None) for k, m in enumerate(DIMS)
                }
                got[c].append(predictor.push(f"conv{c}", row, speaker="A"))
    assert predictor.active() == ["conv0", "conv1", "conv2"]
    for c, predictions in got.items():
        probs = torch.softmax(reference[c].float(), -1)
        for t, p in enumerate(predictions):
            assert p.conversation_id == f"conv{c}"
            assert p.utterance_id == str(t)
            assert p.present == {m: bool(conversations[c][1][t, k]) for k, m in enumerate(DIMS)}
            values = torch.tensor([p.probabilities[n] for n in predictor.classes])
            assert (values - probs[t]).abs().max() < 1e-5
            assert p.prediction == predictor.classes[int(probs[t].argmax())]
    predictor.end("conv1")
    assert predictor.active() == ["conv0", "conv2"]
    with pytest.raises(ValueError, match="'conv1' is not open"):
        predictor.end("conv1")


def test_to_dict_is_a_predict_record() -> None:
    model = _model(dtype=torch.float32)
    predictor = StreamingPredictor(model, task="classification", class_names=["a", "b", "c"])
    p = predictor.push("x", {"text": np.ones(7), "video": torch.zeros(3)}, utterance_id="u0")
    record = p.to_dict()
    offline = Predictions("classification", ["a", "b", "c"], tuple(DIMS), ["x"], ["u0"])
    offline.scores = np.array([["a", "b", "c"].index(p.prediction)])
    offline.probabilities = np.array([[p.probabilities[n] for n in "abc"]])
    offline.present = {m: np.array([v]) for m, v in p.present.items()}
    assert record == offline.records()[0]
    assert list(record) == [
        "conversation_id",
        "utterance_id",
        "prediction",
        "probabilities",
        "present",
    ]
    assert json.loads(json.dumps(record)) == record
    with pytest.raises(AttributeError):
        p.prediction = "b"  # frozen


def test_regression_predicts_a_value() -> None:
    model = _model(dtype=torch.float32, out_dim=1)
    predictor = StreamingPredictor(model, task="regression")
    assert predictor.classes is None
    feats = {"text": torch.randn(7), "audio": torch.randn(5)}
    p = predictor.push("r", feats)
    with torch.no_grad():
        want = model(
            {m: (feats[m] if m in feats else torch.zeros(d))[None, None] for m, d in DIMS.items()},
            torch.ones(1, 1, dtype=torch.bool),
            torch.tensor([[[True, True, False]]]),
        )
    assert p.probabilities is None
    assert abs(p.prediction - float(want)) < 1e-6
    assert list(p.to_dict()) == ["conversation_id", "utterance_id", "prediction", "present"]


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ({"text": [0.0] * 7, "smell": [1.0]}, r"unknown modality 'smell'"),
        ({"text": [0.0] * 6}, r"features\['text'\] has shape \(6,\), expected \(7,\)"),
        ({"text": [[0.0] * 7]}, r"features\['text'\] has shape \(1, 7\)"),
        ({"audio": [0.0, float("nan"), 0, 0, 0]}, r"features\['audio'\] holds NaN or inf"),
        ({"video": [float("inf"), 0, 0]}, r"features\['video'\] holds NaN or inf"),
        ({"text": ["a"] * 7}, r"features\['text'\] is not a vector of numbers"),
        ({"text": None, "audio": None}, r"features: every modality is absent"),
        ({}, r"features: every modality is absent"),
        ([1.0, 2.0], r"features must be a mapping"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(features, message) -> None:
    model = _model(dtype=torch.float32)
    predictor = StreamingPredictor(model, task="classification")
    first = {"text": np.linspace(0, 1, 7)}
    predictor.push("c", first)
    with pytest.raises(ValueError, match=message):
        predictor.push("c", features)
    second = {"audio": np.ones(5)}
    after_error = predictor.push("c", second)
    clean = StreamingPredictor(model, task="classification")
    clean.push("c", first)
    assert after_error == clean.push("c", second)
    assert predictor.active() == ["c"]


def test_push_many_equals_push_one_by_one() -> None:
    generator = torch.Generator().manual_seed(12)
    model = _model(dtype=torch.float32)
    batched = StreamingPredictor(model, task="classification")
    single = StreamingPredictor(model, task="classification")
    conversations = _conversations(generator, 4, 8, torch.float32)
    for t in range(8):
        items = [
            {
                "conversation_id": f"c{c}",
                "features": {m: f[m][t] if p[t, k] else None for k, m in enumerate(DIMS)},
                **({"utterance_id": f"u{t}"} if c % 2 else {}),
            }
            for c, (f, p) in enumerate(conversations)
            if t < p.shape[0]
        ]
        got = batched.push_many(items)
        want = [single.push(i["conversation_id"], i["features"], utterance_id=i.get(
            "utterance_id")) for i in items]  # fmt: skip
        assert [g.utterance_id for g in got] == [w.utterance_id for w in want]
        for g, w in zip(got, want, strict=True):
            assert g.prediction == w.prediction
            assert max(abs(g.probabilities[n] - w.probabilities[n]) for n in "012") < 1e-5
    assert batched.active() == single.active()
    assert batched.push_many([]) == []


def test_push_many_checks_every_item_before_stepping() -> None:
    predictor = StreamingPredictor(_model(dtype=torch.float32), task="classification")
    good = {"conversation_id": "a", "features": {"text": np.zeros(7)}}
    cases = [
        ([good, {"conversation_id": "b", "features": {"text": np.zeros(6)}}],
         r"utterances\[1\]: features\['text'\] has shape"),
        ([good, good], r"utterances\[1\]: conversation_id 'a' appears twice"),
        ([good, {"conversation_id": "b", "feature": {}}], r"\[1\]: unknown key 'feature'"),
        ([good, ["b"]], r"utterances\[1\]: expected a mapping"),
    ]  # fmt: skip
    for items, message in cases:
        with pytest.raises(ValueError, match=message):
            predictor.push_many(items)
    assert predictor.active() == []


def test_bad_ids_are_refused() -> None:
    predictor = StreamingPredictor(_model(dtype=torch.float32), task="classification")
    with pytest.raises(ValueError, match="conversation_id must be a non-empty string"):
        predictor.push("", {"text": np.zeros(7)})
    with pytest.raises(ValueError, match="speaker must be a string"):
        predictor.push("c", {"text": np.zeros(7)}, speaker=3)
    with pytest.raises(ValueError, match="utterance_id must be a string"):
        predictor.push("c", {"text": np.zeros(7)}, utterance_id=3)
    assert predictor.active() == []


def test_non_causal_model_falls_back_to_the_prefix() -> None:
    generator = torch.Generator().manual_seed(8)
    model = _model(causal=False)
    predictor = StreamingPredictor(model, task="classification")
    assert not predictor.incremental
    assert "not causal" in predictor.fallback_reason
    with pytest.raises(ValueError, match="not causal"):
        IncrementalITEACH(model)
    ((feats, present),) = _conversations(generator, 1, 6, torch.float64)
    for t in range(present.shape[0]):
        row = {m: feats[m][t] if present[t, k] else None for k, m in enumerate(DIMS)}
        p = predictor.push("c", row)
        with torch.no_grad():
            want = model(
                {m: (x[: t + 1] * present[: t + 1, k, None])[None] for k, (m, x) in
                 enumerate(feats.items())},
                torch.ones(1, t + 1, dtype=torch.bool), present[None, : t + 1],
            )[0, -1].float().softmax(-1)  # fmt: skip
        assert max(abs(p.probabilities[str(k)] - float(want[k])) for k in range(3)) < 1e-6


def test_prefix_engine_equals_incremental_on_a_causal_model() -> None:
    generator = torch.Generator().manual_seed(9)
    model = _model()
    fast, slow = IncrementalITEACH(model), PrefixEngine(model, tuple(DIMS))
    a, b = fast.new_state(), slow.new_state()
    ((feats, present),) = _conversations(generator, 1, 12, torch.float64)
    for t in range(present.shape[0]):
        flags = {m: bool(present[t, k]) for k, m in enumerate(DIMS)}
        row = {m: x[t] for m, x in feats.items()}
        assert (fast.step(a, row, flags) - slow.step(b, row, flags)).abs().max() < 1e-10
    assert a.nbytes > 0
    assert b.length == present.shape[0]


def test_import_is_lazy() -> None:
    code = "import sys, iteach_app; print('torch' in sys.modules); iteach_app.StreamingPredictor"
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert "StreamingPredictor" in iteach_app.__all__


def test_from_run_predicts_like_offline_on_a_trained_causal_run(tmp_path, make_config) -> None:
    from iteach_app.data import build_splits
    from iteach_app.prediction import predict_conversations
    from iteach_app.training.trainer import Trainer

    config = make_config(causal=True, epochs=1)
    run = tmp_path / "run"
    Trainer(config, run, verbose=False).fit()
    predictor = StreamingPredictor.from_run(run)
    assert predictor.incremental
    data = build_splits(config)
    student = predictor.student
    offline = predict_conversations(
        student, data.test, task=data.task, run_dims=data.modality_dims,
        class_names=predictor.classes, batch_size=4, device=torch.device("cpu"),
    )  # fmt: skip
    streamed = []
    for conv in data.test:
        for t, uid in enumerate(conv.utterance_ids):
            row = {m: conv.features[m][t] for m in predictor.modalities}
            streamed.append(predictor.push(conv.id, row, utterance_id=uid).to_dict())
        predictor.end(conv.id)
    records = offline.records()
    assert len(streamed) == len(records)
    for got, want in zip(streamed, records, strict=True):
        want.pop("label", None)
        assert got["prediction"] == want["prediction"]
        assert got["present"] == want["present"]
        for name, p in want["probabilities"].items():
            assert abs(got["probabilities"][name] - p) <= 2e-6
