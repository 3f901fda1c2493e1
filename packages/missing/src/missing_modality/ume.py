"""Unified Model Evaluation (one model at every missing rate) and IME (one model per rate).

Each conversation's mask at a rate comes from `conversation_mask`, seeded by ``(seed, rate,
conversation id)``: the ids come from the batch's ``.ids`` (or ``.conversation_ids``), else the
conversation's position in iteration order. So batch size, device and process count never change
the masks, and two evaluations, and two different models, see identical masks.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from missing_modality import metrics
from missing_modality._checks import check_int, check_rates
from missing_modality.conversation_mask import conversation_key, conversation_mask
from missing_modality.masker import ModalityMasker, zero_fill
from missing_modality.result import METRICS, UMEResult

DEFAULT_RATES: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)

Predict = Callable[
    [dict[str, torch.Tensor], torch.Tensor, torch.Tensor], "torch.Tensor | np.ndarray"
]


def rate_generator(seed: int, rate: float) -> torch.Generator:
    """A CPU generator seeded from ``(seed, rate)`` (UME itself seeds per conversation)."""
    seed = check_int(seed, "seed")
    key = np.random.SeedSequence([seed, round(rate * 1_000_000)]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(key))


@dataclass
class _RateStream:
    """Masks, predictions and labels accumulated for one rate."""

    rate: float
    predict: Predict
    takes_speakers: bool = False
    missing_cells: int = 0
    predictions: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)


def evaluate_ume(
    predict: Predict,
    batches: Iterable,
    rates: Sequence[float] = DEFAULT_RATES,
    *,
    seed: int = 0,
    task: str = "classification",
    keep_at_least: int = 1,
    modalities: Sequence[str] | None = None,
    stack_budget: int | None = None,
) -> UMEResult:
    """Test one fixed model at every rate with masks fixed by ``seed``; one pass over ``batches``.

    ``batches`` yields objects with ``.features`` (name -> (B, L, D)), ``.utterance_mask`` (B, L)
    and ``.labels`` (B, L). ``predict(features, utterance_mask, present)`` returns (B, L, C) logits
    (classification) or (B, L) values (regression); it runs under ``torch.no_grad()``. When the
    batch has ``.speakers`` (B, L) and ``predict`` takes a ``speakers`` keyword, it gets them.
    ``stack_budget``: several rates' masked copies of a batch go through ``predict`` in one call,
    concatenated along B, as many as keep ``copies * B * L * L`` (attention cells per head, what
    an attention model's memory grows with) within it; None = one rate per call. The model must
    treat conversations independently (no batch statistics), as any eval-mode ERC model does.
    """
    rates = check_rates(rates)
    if stack_budget is not None:
        stack_budget = check_int(stack_budget, "stack_budget")
    return _evaluate(
        [(rate, predict) for rate in rates],
        batches,
        seed,
        task,
        keep_at_least,
        modalities,
        protocol="UME",
        stack_budget=stack_budget,
    )


def evaluate_ime(
    predicts: Mapping[float, Predict],
    batches: Iterable,
    *,
    seed: int = 0,
    task: str = "classification",
    keep_at_least: int = 1,
    modalities: Sequence[str] | None = None,
) -> UMEResult:
    """Test each model of ``{rate: predict}`` (trained at that rate) at its rate, on UME's masks."""
    if not isinstance(predicts, Mapping) or not predicts:
        raise ValueError("evaluate_ime needs a non-empty mapping {rate: predict}")
    rates = check_rates(predicts)
    by_rate = {float(rate): model for rate, model in predicts.items()}
    return _evaluate(
        [(rate, by_rate[rate]) for rate in rates],
        batches,
        seed,
        task,
        keep_at_least,
        modalities,
        protocol="IME",
    )


def _evaluate(
    models: list[tuple[float, Predict]],
    batches: Iterable,
    seed: int,
    task: str,
    keep_at_least: int,
    modalities: Sequence[str] | None,
    protocol: str,
    stack_budget: int | None = None,
) -> UMEResult:
    if task not in METRICS:
        raise ValueError(f"task must be one of {sorted(METRICS)}, got {task!r}")
    for _, model in models:
        if not callable(model):
            raise TypeError(f"predict must be callable, got {type(model).__name__}")
        if isinstance(model, torch.nn.Module) and model.training:
            warnings.warn(
                "the model is in training mode (dropout etc. active): call model.eval() first "
                "for reproducible UME numbers",
                stacklevel=3,
            )
    streams = [_RateStream(rate, model, takes_speakers(model)) for rate, model in models]
    masker: ModalityMasker | None = None
    num_classes: int | None = None
    num_utterances = 0
    num_conversations = 0
    for index, batch in enumerate(batches):
        features, utterance_mask, labels = _unpack(batch, index)
        if masker is None:
            names = tuple(modalities) if modalities is not None else tuple(features)
            masker = ModalityMasker(names, keep_at_least=keep_at_least)
        num_valid = int(utterance_mask.sum())
        if num_valid == 0:
            raise ValueError(f"batch {index} is empty: its utterance_mask selects no utterance")
        num_utterances += num_valid
        valid_cpu = utterance_mask.cpu()
        keys = _conversation_keys(batch, index, len(valid_cpu), num_conversations)
        num_conversations += len(keys)
        names = masker._checked_names(features, utterance_mask)
        cells = len(valid_cpu) * valid_cpu.shape[1] ** 2
        speakers = getattr(batch, "speakers", None)
        for group in _stacks(streams, cells, stack_budget):
            presents = [
                _batch_present(valid_cpu, keys, len(names), stream.rate, seed, keep_at_least)
                for stream in group
            ]
            given = speakers if group[0].takes_speakers else None
            outputs = _predict_stacked(
                group[0].predict, features, utterance_mask, presents, names, given
            )
            for stream, present, output in zip(group, presents, outputs, strict=True):
                where = f"batch {index}, rate {stream.rate:g}"
                output = _check_output(
                    output, tuple(utterance_mask.shape), task, num_classes, where
                )
                _check_finite(output, valid_cpu, where)
                if task == "classification":
                    num_classes = output.shape[-1]
                    output = output.argmax(dim=-1)
                stream.missing_cells += int((~present[valid_cpu]).sum())
                stream.predictions.append(output.detach().cpu()[valid_cpu].numpy())
                stream.labels.append(labels[valid_cpu].numpy())
    if masker is None:
        raise ValueError("batches yielded no batch: nothing to evaluate")
    return _summarise(
        streams, task, num_classes, seed, keep_at_least, masker, num_utterances, protocol
    )


def takes_speakers(predict: Callable) -> bool:
    """True when ``predict`` has a parameter named ``speakers`` that can be given by keyword."""
    try:
        parameters = inspect.signature(predict).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "speakers" and p.kind != p.POSITIONAL_ONLY for p in parameters)


def _stacks(
    streams: list[_RateStream], cells: int, stack_budget: int | None
) -> list[list[_RateStream]]:
    """Consecutive streams of one predict, as many per group as fit ``stack_budget`` cells."""
    size = 1 if stack_budget is None else max(1, stack_budget // max(cells, 1))
    groups: list[list[_RateStream]] = []
    for stream in streams:
        last = groups[-1] if groups else None
        if last is not None and len(last) < size and last[0].predict is stream.predict:
            last.append(stream)
        else:
            groups.append([stream])
    return groups


def _predict_stacked(
    predict: Predict,
    features: Mapping[str, torch.Tensor],
    utterance_mask: torch.Tensor,
    presents: Sequence[torch.Tensor],
    names: Sequence[str],
    speakers: torch.Tensor | None = None,
) -> list[object]:
    """``predict`` on every present mask's zero-filled copy in one call; one output per mask
    (``speakers``, when given, go to ``predict`` by keyword, repeated like the features)."""
    device = features[names[0]].device
    copies = len(presents)
    extra = {} if speakers is None else {"speakers": speakers.repeat(copies, 1)}
    if copies == 1:
        present = presents[0].to(device)
        with torch.no_grad():
            masked = zero_fill(features, present, utterance_mask, names)
            return [predict(masked, utterance_mask, present, **extra)]
    present = torch.cat(presents).to(device)
    mask = utterance_mask.repeat(copies, 1)
    repeated = {name: features[name].repeat(copies, 1, 1) for name in names}
    with torch.no_grad():
        masked = zero_fill(repeated, present, mask, names, inplace=True)  # the copies are ours
        output = predict(masked, mask, present, **extra)
    if isinstance(output, np.ndarray):
        output = torch.from_numpy(output)
    if not isinstance(output, torch.Tensor) or output.shape[0] != len(mask):
        shape = tuple(getattr(output, "shape", ()))
        raise ValueError(
            f"predict returned {type(output).__name__} {shape} for {len(mask)} stacked "
            "conversations; it must return one row per conversation"
        )
    return list(output.chunk(copies))


def _conversation_keys(batch: object, index: int, size: int, offset: int) -> list[str]:
    """Keys of the batch's B conversations: ``.ids`` / ``.conversation_ids``, else positions."""
    ids = getattr(batch, "ids", None)
    if ids is None:
        ids = getattr(batch, "conversation_ids", None)
    if ids is None:
        return [f"#{offset + row}" for row in range(size)]
    ids = list(ids)
    if len(ids) != size:
        raise ValueError(
            f"batch {index}: {len(ids)} conversation ids for {size} conversations "
            "(the utterance_mask's B)"
        )
    return [conversation_key(conversation_id) for conversation_id in ids]


def _batch_present(
    valid: torch.Tensor,
    keys: Sequence[str],
    num_modalities: int,
    rate: float,
    seed: int,
    keep_at_least: int,
) -> torch.Tensor:
    """(B, L, M) CPU present mask: each conversation's own `conversation_mask`, False on padding."""
    present = torch.zeros(*valid.shape, num_modalities, dtype=torch.bool)
    for row, key in enumerate(keys):
        num_rows = int(valid[row].sum())
        if num_rows:
            present[row, valid[row]] = conversation_mask(
                num_rows,
                num_modalities,
                rate,
                seed=seed,
                conversation_id=key,
                keep_at_least=keep_at_least,
            )
    return present


def _check_finite(output: torch.Tensor, valid: torch.Tensor, where: str) -> None:
    """Refuse NaN or inf predictions on valid utterances (argmax of NaN would score silently)."""
    values = output.detach().cpu()[valid]
    bad = ~torch.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{where}: predict returned {int(bad.sum())} non-finite values (NaN or inf) out of "
            f"{values.numel()} on valid utterances; UME cannot score them"
        )


def _unpack(batch: object, index: int) -> tuple[Mapping, torch.Tensor, torch.Tensor]:
    for name in ("features", "utterance_mask", "labels"):
        if not hasattr(batch, name):
            raise TypeError(
                f"batch {index} ({type(batch).__name__}) has no attribute {name!r}; batches need "
                ".features, .utterance_mask and .labels"
            )
    utterance_mask = batch.utterance_mask
    if not isinstance(utterance_mask, torch.Tensor) or utterance_mask.dtype != torch.bool:
        raise TypeError(f"batch {index}: utterance_mask must be a (B, L) bool tensor")
    labels = batch.labels
    labels = torch.from_numpy(labels) if isinstance(labels, np.ndarray) else labels
    if not isinstance(labels, torch.Tensor) or labels.shape != utterance_mask.shape:
        shape = tuple(getattr(labels, "shape", ()))
        raise ValueError(
            f"batch {index}: labels must be a tensor of shape {tuple(utterance_mask.shape)} "
            f"(the utterance_mask's), got {type(labels).__name__} {shape}"
        )
    return batch.features, utterance_mask, labels.detach().cpu()


def _check_output(
    output: object, shape: tuple[int, int], task: str, num_classes: int | None, where: str
) -> torch.Tensor:
    if isinstance(output, np.ndarray):
        output = torch.from_numpy(output)
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"{where}: predict must return a tensor or numpy array, got {type(output)}")
    got = tuple(output.shape)
    if task == "regression":
        if got == (*shape, 1):
            return output.squeeze(-1)
        if got != shape:
            raise ValueError(f"{where}: regression predict returned shape {got}; expected {shape}")
        return output
    if output.dim() != 3 or got[:2] != shape or got[2] < 2:
        raise ValueError(
            f"{where}: classification predict returned shape {got}; expected (B, L, C) = "
            f"({shape[0]}, {shape[1]}, C) logits with C >= 2"
        )
    if num_classes is not None and got[2] != num_classes:
        raise ValueError(
            f"{where}: predict returned {got[2]} classes, earlier batches {num_classes}"
        )
    return output


def _summarise(
    streams: list[_RateStream],
    task: str,
    num_classes: int | None,
    seed: int,
    keep_at_least: int,
    masker: ModalityMasker,
    num_utterances: int,
    protocol: str,
) -> UMEResult:
    per_rate, realised, confusion = [], [], []
    num_modalities = len(masker.modalities)
    for stream in streams:
        pred, labels = np.concatenate(stream.predictions), np.concatenate(stream.labels)
        realised.append(stream.missing_cells / (num_utterances * num_modalities))
        if task == "classification":
            if labels.min() < 0 or labels.max() >= num_classes:
                raise ValueError(
                    f"class labels on valid utterances must lie in [0, {num_classes}) (the logits' "
                    f"last axis), got values from {labels.min()} to {labels.max()}"
                )
            per_rate.append(
                {"waf": metrics.weighted_f1(pred, labels), "acc": metrics.accuracy(pred, labels)}
            )
            confusion.append(metrics.confusion_matrix(pred, labels, None, num_classes).tolist())
        else:
            per_rate.append(
                {
                    "binary_waf": metrics.binary_weighted_f1(pred, labels),
                    "mae": metrics.mean_absolute_error(pred, labels),
                    "acc2": metrics.binary_accuracy(pred, labels),
                }
            )
    return UMEResult(
        rates=tuple(stream.rate for stream in streams),
        per_rate=per_rate,
        realised=tuple(realised),
        task=task,
        confusion=confusion if task == "classification" else None,
        protocol=protocol,
        seed=seed,
        keep_at_least=keep_at_least,
        modalities=masker.modalities,
        num_utterances=num_utterances,
    )
