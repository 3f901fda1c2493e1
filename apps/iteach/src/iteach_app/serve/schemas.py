"""Request and response bodies of the API, as pydantic models: they make the OpenAPI schema.

The service parses bodies itself (serve/limits.py), so that every refusal names its field in one
format; these models describe the same shapes for clients and the schema.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class UtteranceIn(BaseModel):
    """One utterance, as one line of `iteach-app predict --stream`."""

    conversation_id: str | None = Field(
        None, description="default: 'conversation' (POST) or the socket's"
    )
    utterance_id: str | None = Field(None, description="default: its position in the conversation")
    speaker: str | None = None
    features: dict[str, list[float] | None] = Field(
        description="modality -> its vector (the run's dim) or null; a modality left out or null "
        "is absent; at least one present"
    )


class PredictRequest(BaseModel):
    """Whole conversations: utterances in order (several conversation ids are grouped)."""

    utterances: list[UtteranceIn]


class PredictionOut(BaseModel):
    """One utterance's prediction (the fields of `iteach-app predict`'s JSONL records)."""

    conversation_id: str
    utterance_id: str
    prediction: str | float = Field(description="class name, or the regression value")
    probabilities: dict[str, float] | None = Field(None, description="classification only")
    present: dict[str, bool]


class PredictResponse(BaseModel):
    """Predictions in the order of the request's utterances."""

    predictions: list[PredictionOut]


class ModalityOut(BaseModel):
    """A modality of the run and its feature width."""

    name: str
    dim: int


class ModelOut(BaseModel):
    """The served model."""

    task: str
    classes: list[str]
    modalities: list[ModalityOut]
    config_hash: str
    run: str
    version: str
    runtime: str
    streaming: str = Field(description="how /v1/stream predicts: incrementally or by prefix re-run")
    limits: dict[str, int]


class ErrorDetail(BaseModel):
    """What was refused: the field (JSON path, header or part of the request) and why."""

    field: str
    message: str


class ErrorOut(BaseModel):
    """Every 4xx answer."""

    error: ErrorDetail
