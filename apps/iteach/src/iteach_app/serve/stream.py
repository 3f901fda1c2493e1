"""One conversation of a WebSocket: utterances pushed one at a time, one prediction each."""

from __future__ import annotations

from typing import Any

from iteach_app.serve.limits import Limits, RequestError, Utterance
from iteach_app.serve.runtime import Runtime


class PrefixStream:
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
        if len(self.utterances) >= self.limits.max_utterances:
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
