"""Serving a trained run (`iteach-app serve`): an HTTP and WebSocket API and a live page.

- ``runtime``: the run's student behind one interface (torch, or the ONNX export through
  onnxruntime), conversations in, per-utterance probabilities out.
- ``limits``: the checks every request passes (sizes, counts, dims, finite values), each failure
  a ``RequestError`` naming the field.
- ``schemas``: the request and response bodies (they make the OpenAPI schema).
- ``stream``: one conversation of a WebSocket, one prediction per utterance.
- ``app``: ``create_app(runtime, ...)``, the FastAPI application.

Needs the ``serve`` extra: ``pip install 'iteach-app[serve]'``.
"""
