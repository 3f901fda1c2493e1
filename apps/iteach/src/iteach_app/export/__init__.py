"""Exports of a run's student for other runtimes (`iteach-app export`); ``onnx``: ONNX."""
