"""One conversation of a WebSocket: utterances pushed one at a time, one prediction each."""

from __future__ import annotations

from typing import Any

from iteach_app.serve.limits import Limits, RequestError, Utterance
from iteach_app.serve.runtime import Runtime, TorchRuntime


class PrefixStream:
    # the conversation's utterances, rerun whole at each push
    """Predicts each new utterance by running the student on the conversation so far (its
    prefix) and keeping the last row: what a non-causal run can say at that moment, and the
    reference a causal run's incremental predictor equals. Work per step grows with the prefix,
    bounded by ``limits.max_utterances``."""

    def __init__(self, runtime: Runtime, conversation_id: str, limits: Limits) -> None:
        self.runtime, self.conversation_id, self.limits = runtime, conversation_id, limits
        self.utterances: list[Utterance] = []
        self._ids: set[str] = set()

    def __len__(self) -> int:
        return len(self.utterances)

    def check(self, utterance: Utterance) -> None:
        """Refuse an utterance of another conversation, a repeated id, or one past the limit."""
        if utterance.conversation_id != self.conversation_id:
            raise RequestError(
                "conversation_id",
                f"this socket carries conversation {self.conversation_id!r}; open another socket "
                f"for {utterance.conversation_id!r}",
            )
        if utterance.utterance_id in self._ids:
            raise RequestError("utterance_id", f"{utterance.utterance_id!r} was already sent")
        if len(self) >= self.limits.max_utterances:
            raise RequestError(
                "utterances",
                f"the conversation reached {self.limits.max_utterances} utterances",
                413,
            )

    def push(self, utterance: Utterance) -> dict[str, Any]:
        """Add a checked utterance and return its prediction record."""
        self.check(utterance)
        self.utterances.append(utterance)
        self._ids.add(utterance.utterance_id)
        return self.runtime.predict(self.utterances)[-1]

    def close(self) -> None:
        """Forget the conversation."""
        self.utterances.clear()


class PredictorStream(PrefixStream):
    """A socket's conversation in the torch runtime's StreamingPredictor (shared by every
    socket, under its lock): per-conversation state, so a causal run's push costs one
    utterance's work. ``key`` names the conversation inside the predictor (unique per socket),
    ``conversation_id`` is the client's."""

    def __init__(
        self, runtime: TorchRuntime, conversation_id: str, limits: Limits, key: str
    ) -> None:
        super().__init__(runtime, conversation_id, limits)
        self.torch_runtime, self.key, self.count = runtime, key, 0

    def __len__(self) -> int:
        return self.count

    def push(self, utterance: Utterance) -> dict[str, Any]:
        self.check(utterance)
        with self.torch_runtime.predictor_lock:
            prediction = self.torch_runtime.predictor.push(
                self.key,
                utterance.features,
                speaker=utterance.speaker,
                utterance_id=utterance.utterance_id,
            )
        self._ids.add(utterance.utterance_id)
        self.count += 1
        return {**prediction.to_dict(), "conversation_id": self.conversation_id}

    def close(self) -> None:
        with self.torch_runtime.predictor_lock:
            if self.key in self.torch_runtime.predictor.active():
                self.torch_runtime.predictor.end(self.key)


def open_stream(runtime: Runtime, conversation_id: str, limits: Limits, key: str) -> PrefixStream:
    """The stream of one socket: the StreamingPredictor for torch, prefix re-runs otherwise."""
    if isinstance(runtime, TorchRuntime):
        return PredictorStream(runtime, conversation_id, limits, key)
    return PrefixStream(runtime, conversation_id, limits)
