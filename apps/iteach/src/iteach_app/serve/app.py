"""The FastAPI application: `POST /v1/predict`, `WS /v1/stream`, `GET /v1/model`, `GET /health`,
the live page at `/`, and the OpenAPI schema at `/openapi.json`.

No route takes a path or writes anything: the page's three assets are read from the package once,
when the app is built, and served from memory. Every refusal is ``{"error": {"field", "message"}}``
with a 4xx status; on the WebSocket, an error frame of the same shape (the socket stays open) or,
for auth and capacity, a close with a code.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect, WebSocketState

from iteach_app.serve.limits import Limits, RequestError, check_conversations, check_utterance
from iteach_app.serve.runtime import Runtime
from iteach_app.serve.schemas import ErrorOut, ModelOut, PredictRequest, PredictResponse
from iteach_app.serve.stream import PrefixStream, open_stream

log = logging.getLogger("iteach_app.serve")
ASSETS = {"/": ("index.html", "text/html"), "/static/app.js": ("app.js", "text/javascript"),
          "/static/style.css": ("style.css", "text/css")}  # fmt: skip
FIELD_OF_STATUS = {404: "path", 405: "method", 413: "body"}
WS_POLICY, WS_TRY_LATER = 1008, 1013


class BodyLimit:
    """ASGI middleware: an HTTP body over ``max_bytes`` (declared or streamed) is answered 413
    before the route reads it whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await error_response(413, "body", f"larger than {self.max_bytes} bytes")(
                scope, receive, send
            )
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, f"larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


def error_response(status: int, field: str, message: str) -> JSONResponse:
    """The one error format of every 4xx."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"field": field, "message": message}}, status, headers=headers)


def token_matches(given: str | None, token: str | None) -> bool:
    """True when no token is configured, or ``given`` equals it (constant time)."""
    if token is None:
        return True
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def bearer(headers: Any) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    value = headers.get("authorization", "")
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def _assets() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("iteach_app.serve") / "static"
    return {route: ((folder / name).read_bytes(), kind) for route, (name, kind) in ASSETS.items()}


def create_app(
    runtime: Runtime, *, limits: Limits | None = None, token: str | None = None, workers: int = 1
) -> FastAPI:
    """The service for ``runtime``: ``limits`` bound every request; ``token`` (None: open)
    is required as a bearer token on /v1/*; ``workers`` threads run the model."""
    limits = limits or Limits()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iteach-model")
    assets = _assets()
    info = {**runtime.info.to_dict(), "streaming": runtime.streaming, "limits": limits.to_dict()}
    open_streams = {"count": 0}
    socket_ids = itertools.count(1)
    app = FastAPI(
        title="iteach-app serve",
        version=runtime.info.version,
        summary="Emotion recognition in conversation with missing modalities (ITEACH-Net).",
        docs_url=None,  # the interactive docs load scripts from a CDN; the schema is enough
        redoc_url=None,
    )

    async def run_model(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    def authorize(request: Request) -> None:
        if not token_matches(bearer(request.headers), token):
            raise RequestError("Authorization", "a valid bearer token is required", 401)

    @app.exception_handler(RequestError)
    async def refused(_: Request, err: RequestError) -> JSONResponse:
        return error_response(err.status, err.field, err.message)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        field = FIELD_OF_STATUS.get(err.status_code, "request")
        return error_response(err.status_code, field, str(err.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"error": {"field": "server", "message": "internal error"}}, 500)

    for route, (body, kind) in assets.items():
        app.add_api_route(
            route,
            lambda body=body, kind=kind: Response(body, media_type=kind),
            methods=["GET"],
            include_in_schema=False,
        )

    @app.get("/health", summary="Liveness: the model is loaded")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "runtime": runtime.info.runtime, "streams": open_streams["count"]}

    @app.get(
        "/v1/model", response_model=ModelOut, responses={401: {"model": ErrorOut}},
        summary="The served model: classes, modalities and dims, version, config hash, limits",
    )  # fmt: skip
    async def model(request: Request) -> dict[str, Any]:
        authorize(request)
        return info

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses={code: {"model": ErrorOut} for code in (400, 401, 413, 422)},
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}}}},
        summary="Whole conversations in, one prediction per utterance out",
    )  # fmt: skip
    async def predict(request: Request) -> JSONResponse:
        authorize(request)
        body = await request.body()
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise RequestError("body", "is not valid JSON", 400) from None
        if not isinstance(payload, dict) or "utterances" not in payload:
            raise RequestError("utterances", 'missing; send {"utterances": [...]}')
        extra = sorted(set(payload) - {"utterances"})
        if extra:
            raise RequestError(extra[0], "unknown field")
        conversations, order = check_conversations(
            payload["utterances"], runtime.info.modalities, limits
        )
        records = [await run_model(runtime.predict, conversation) for conversation in conversations]
        return JSONResponse({"predictions": [records[c][k] for c, k in order]})

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        if open_streams["count"] >= limits.max_streams:
            await _close_with(ws, WS_TRY_LATER, "streams", "too many open streams; try later")
            return
        open_streams["count"] += 1
        try:
            await _serve_stream(ws, runtime, limits, token, run_model, f"stream-{next(socket_ids)}")
        except WebSocketDisconnect:
            pass
        finally:
            open_streams["count"] -= 1

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 routes=app.routes)  # fmt: skip
            defs = PredictRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(defs.pop("$defs", {}))
            components["PredictRequest"] = defs
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.state.executor = executor
    return app


async def _send_error(ws: WebSocket, err: RequestError) -> None:
    await ws.send_text(json.dumps({**err.to_dict(), "status": err.status}))


async def _close_with(ws: WebSocket, code: int, field: str, message: str) -> None:
    await _send_error(ws, RequestError(field, message, 401 if code == WS_POLICY else 503))
    await ws.close(code=code, reason=message[:120])


async def _serve_stream(
    ws: WebSocket, runtime: Runtime, limits: Limits, token: str | None, run_model: Any, name: str
) -> None:
    """The socket's conversation, freed however the socket ends."""
    opened: list[PrefixStream] = []
    try:
        await _stream_frames(ws, runtime, limits, token, run_model, name, opened)
    finally:
        for conversation in opened:
            conversation.close()


async def _stream_frames(
    ws: WebSocket,
    runtime: Runtime,
    limits: Limits,
    token: str | None,
    run_model: Any,
    name: str,
    opened: list[PrefixStream],
) -> None:
    """The socket's loop: an optional auth frame, then utterance frames (one prediction each)
    until ``{"end": true}`` (answered, then closed with 1000) or the client leaves."""
    authorized = token_matches(bearer(ws.headers), token)
    conversation: PrefixStream | None = None
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            await _send_error(ws, RequestError("message", "send JSON text frames, not binary", 400))
            continue
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            await _send_error(ws, RequestError("message", "is not valid JSON", 400))
            continue
        if not authorized:
            given = frame.get("token") if isinstance(frame, dict) else None
            if not isinstance(given, str) or not token_matches(given, token):
                await _close_with(ws, WS_POLICY, "token", "a valid token is required first")
                return
            authorized = True
            await ws.send_text(json.dumps({"authorized": True}))
            continue
        if isinstance(frame, dict) and frame.get("end") is True:
            count = len(conversation) if conversation else 0
            cid = conversation.conversation_id if conversation else None
            end = {"end": True, "conversation_id": cid, "utterances": count}
            await ws.send_text(json.dumps(end))
            await ws.close(code=1000)
            return
        try:
            cid = conversation.conversation_id if conversation else name
            utterance = check_utterance(
                frame, "message", runtime.info.modalities, limits,
                conversation_id=cid, position=len(conversation) if conversation else 0,
            )  # fmt: skip
            if conversation is None:
                conversation = open_stream(runtime, utterance.conversation_id, limits, name)
                opened.append(conversation)
            conversation.check(utterance)
        except RequestError as err:
            await _send_error(ws, err)
            continue
        record = await run_model(conversation.push, utterance)
        if ws.client_state == WebSocketState.CONNECTED:
            await ws.send_text(json.dumps(record))
