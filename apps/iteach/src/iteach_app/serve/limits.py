"""What a request may hold, and the checks that turn a bad one into a 4xx naming its field.

Every check raises ``RequestError(field, message, status)``; the app turns it into
``{"error": {"field": ..., "message": ...}}`` with that status (never a 500).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


class RequestError(ValueError):
    """A request the service refuses: ``field`` is the JSON path at fault (``utterances[2].
    features.audio``), ``status`` the HTTP status (or the reason of a WebSocket error frame)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.status = field, message, status

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"error": {"field": self.field, "message": self.message}}


@dataclass(frozen=True)
class Limits:
    """Bounds of one request: ``max_body_bytes`` of an HTTP body or WebSocket message,
    ``max_utterances`` per conversation (and per POST body), ``max_conversations`` per POST
    body, ``max_id_chars`` of an id or speaker, ``max_streams`` open WebSocket conversations."""

    max_body_bytes: int = 8 * 1024 * 1024
    max_utterances: int = 1000
    max_conversations: int = 64
    max_id_chars: int = 256
    max_streams: int = 256

    def to_dict(self) -> dict[str, int]:
        """The limits as reported by ``GET /v1/model``."""
        return asdict(self)


@dataclass(frozen=True)
class Utterance:
    """One checked utterance: ``features`` modality -> (D_m,) float32 for the present ones."""

    conversation_id: str
    utterance_id: str
    speaker: str | None
    features: dict[str, np.ndarray]


def check_text(value: Any, field: str, limits: Limits, *, default: str | None) -> str | None:
    """An id or speaker: a string of at most ``max_id_chars`` (an integer is taken as its text);
    None gives ``default``."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RequestError(field, f"must be a string, got {type(value).__name__}")
    text = str(value)
    if not text or len(text) > limits.max_id_chars:
        raise RequestError(field, f"must hold 1 to {limits.max_id_chars} characters")
    return text


def check_vector(values: Any, field: str, dim: int) -> np.ndarray:
    """A list of ``dim`` finite numbers (within float32's range) -> (dim,) float32."""
    if not isinstance(values, list):
        raise RequestError(field, f"must be a list of {dim} numbers or null")
    if len(values) != dim:
        raise RequestError(field, f"has {len(values)} values, the run's dim is {dim}")
    for k, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise RequestError(f"{field}[{k}]", f"must be a number, got {type(v).__name__}")
        if not math.isfinite(v) or abs(v) > FLOAT32_MAX:
            raise RequestError(f"{field}[{k}]", f"must be a finite float32, got {v!r}")
    return np.asarray(values, dtype=np.float32)


def check_features(features: Any, field: str, dims: Mapping[str, int]) -> dict[str, np.ndarray]:
    """{modality: list | null} -> the present ones as arrays; a modality left out or null is
    absent; at least one must be present, and each named modality must be one of the run's."""
    if not isinstance(features, Mapping):
        raise RequestError(field, "must be an object {modality: [numbers] or null}")
    out = {}
    for name, values in features.items():
        if name not in dims:
            raise RequestError(
                f"{field}.{name}", f"unknown modality; the run's are {', '.join(dims)}"
            )
        if values is not None:
            out[name] = check_vector(values, f"{field}.{name}", dims[name])
    if not out:
        raise RequestError(field, f"no modality present; give at least one of {', '.join(dims)}")
    return out


def check_utterance(
    item: Any,
    field: str,
    dims: Mapping[str, int],
    limits: Limits,
    *,
    conversation_id: str,
    position: int,
) -> Utterance:
    """One utterance object (as a line of ``predict --stream``) -> ``Utterance``; ids default to
    ``conversation_id`` and the position in the conversation."""
    if not isinstance(item, Mapping):
        raise RequestError(field, "must be an object")
    unknown = sorted(set(item) - {"conversation_id", "utterance_id", "speaker", "features"})
    if unknown:
        raise RequestError(f"{field}.{unknown[0]}", "unknown field")
    cid = check_text(
        item.get("conversation_id"), f"{field}.conversation_id", limits, default=conversation_id
    )
    uid = check_text(
        item.get("utterance_id"), f"{field}.utterance_id", limits, default=str(position)
    )
    speaker = check_text(item.get("speaker"), f"{field}.speaker", limits, default=None)
    if "features" not in item:
        raise RequestError(f"{field}.features", "missing")
    features = check_features(item["features"], f"{field}.features", dims)
    return Utterance(str(cid), str(uid), speaker, features)


def check_conversations(
    utterances: Any, dims: Mapping[str, int], limits: Limits
) -> tuple[list[list[Utterance]], list[tuple[int, int]]]:
    """The ``utterances`` of a POST body -> (conversations in order of first appearance, each
    within ``max_utterances``, at most ``max_conversations``, utterance ids unique in each;
    the request's order as (conversation index, position) pairs)."""
    if not isinstance(utterances, Sequence) or isinstance(utterances, (str, bytes)):
        raise RequestError("utterances", "must be a list of utterance objects")
    if not utterances:
        raise RequestError("utterances", "is empty; give at least one utterance")
    if len(utterances) > limits.max_utterances * limits.max_conversations:
        raise RequestError("utterances", "too many utterances", 413)
    conversations: dict[str, list[Utterance]] = {}
    seen: dict[str, set[str]] = {}
    order: list[tuple[int, int]] = []
    for index, item in enumerate(utterances):
        field = f"utterances[{index}]"
        cid = check_text(
            item.get("conversation_id") if isinstance(item, Mapping) else None,
            f"{field}.conversation_id",
            limits,
            default="conversation",
        )
        turns = conversations.setdefault(str(cid), [])
        if len(conversations) > limits.max_conversations:
            raise RequestError(
                f"{field}.conversation_id",
                f"more than {limits.max_conversations} conversations in one request",
                413,
            )
        if len(turns) >= limits.max_utterances:
            raise RequestError(
                f"{field}.conversation_id",
                f"conversation {cid!r} has more than {limits.max_utterances} utterances",
                413,
            )
        utterance = check_utterance(
            item, field, dims, limits, conversation_id=str(cid), position=len(turns)
        )
        ids = seen.setdefault(str(cid), set())
        if utterance.utterance_id in ids:
            raise RequestError(
                f"{field}.utterance_id",
                f"{utterance.utterance_id!r} repeats in conversation {cid!r}",
            )
        ids.add(utterance.utterance_id)
        order.append((list(conversations).index(str(cid)), len(turns)))
        turns.append(utterance)
    return list(conversations.values()), order
