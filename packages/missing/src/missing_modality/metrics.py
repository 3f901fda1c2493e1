"""Metrics over the valid positions of padded (B, L) predictions, equal to scikit-learn's.

Each takes predictions and labels of the same shape (torch tensors or numpy arrays) and an optional
bool ``mask`` of that shape (True = a real utterance); positions outside the mask are ignored.
Weighted F1, accuracy and the confusion matrix are computed here with numpy by scikit-learn's
formulas (the same floating-point operations, so the same numbers), so evaluating a model does
not import scikit-learn (about a second with scipy and pandas); only MAE calls scikit-learn.
"""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray


def _numpy(value: ArrayLike, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{name} must be a torch tensor or numpy array, got {type(value).__name__}")


def valid_positions(
    pred: ArrayLike, labels: ArrayLike, mask: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten ``pred`` and ``labels`` to 1-D numpy arrays of the positions where ``mask``."""
    pred_np, labels_np = _numpy(pred, "pred"), _numpy(labels, "labels")
    if pred_np.shape != labels_np.shape:
        raise ValueError(
            f"pred shape {pred_np.shape} does not match labels shape {labels_np.shape}"
        )
    if mask is None:
        pred_np, labels_np = pred_np.reshape(-1), labels_np.reshape(-1)
    else:
        mask_np = _numpy(mask, "mask")
        if mask_np.dtype != np.bool_ or mask_np.shape != labels_np.shape:
            raise ValueError(
                f"mask must be bool with the labels' shape {labels_np.shape}, "
                f"got {mask_np.dtype} {mask_np.shape}"
            )
        pred_np, labels_np = pred_np[mask_np], labels_np[mask_np]
    if labels_np.size == 0:
        raise ValueError("no valid position to score (the mask selects nothing)")
    return pred_np, labels_np


def weighted_f1(pred: ArrayLike, labels: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Weighted F1 (WAF) of class indices ``pred`` against ``labels`` over the valid positions."""
    pred_np, labels_np = valid_positions(pred, labels, mask)
    return _weighted_f1(labels_np, pred_np)


def _weighted_f1(labels: np.ndarray, pred: np.ndarray) -> float:
    """scikit-learn's ``f1_score(labels, pred, average="weighted", zero_division=0)``: per class
    of either array, ``2 tp / (support + predicted)`` (0 where both are 0), averaged with the
    support as weights."""
    classes, index = np.unique(np.concatenate([labels, pred]), return_inverse=True)
    true_index, pred_index = index[: len(labels)], index[len(labels) :]
    count = len(classes)
    support = np.bincount(true_index, minlength=count)
    predicted = np.bincount(pred_index, minlength=count)
    hits = np.bincount(true_index[true_index == pred_index], minlength=count)
    denominator = 1 * support + predicted
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(denominator > 0, (1 + 1) * hits / denominator, 0.0)
    if support.sum() == 0:
        return 0.0
    return float(np.average(scores, weights=support))


def _accuracy(labels: np.ndarray, pred: np.ndarray) -> float:
    """scikit-learn's ``accuracy_score``: the mean of ``labels == pred``."""
    return float(np.average(labels == pred))


def accuracy(pred: ArrayLike, labels: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Fraction of valid positions where ``pred`` equals ``labels``."""
    pred_np, labels_np = valid_positions(pred, labels, mask)
    return _accuracy(labels_np, pred_np)


def _non_zero(
    values: ArrayLike, labels: ArrayLike, mask: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray]:
    values_np, labels_np = valid_positions(values, labels, mask)
    keep = labels_np != 0
    if not keep.any():
        raise ValueError("every valid label is exactly 0: the binary metrics have nothing to score")
    return values_np[keep] > 0, labels_np[keep] > 0


def binary_weighted_f1(
    values: ArrayLike, labels: ArrayLike, mask: ArrayLike | None = None
) -> float:
    """MOSI / MOSEI binary WAF: weighted F1 of ``values > 0`` vs ``labels > 0``, labels 0 out."""
    positive_pred, positive_label = _non_zero(values, labels, mask)
    return _weighted_f1(positive_label, positive_pred)


def binary_accuracy(values: ArrayLike, labels: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Acc-2: accuracy of ``values > 0`` vs ``labels > 0``; labels exactly 0 dropped."""
    positive_pred, positive_label = _non_zero(values, labels, mask)
    return _accuracy(positive_label, positive_pred)


def mean_absolute_error(
    values: ArrayLike,
    labels: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    exclude_zero: bool = False,
) -> float:
    """Mean |values - labels| over the valid positions (non-zero labels only: ``exclude_zero``)."""
    values_np, labels_np = valid_positions(values, labels, mask)
    if exclude_zero:
        keep = labels_np != 0
        if not keep.any():
            raise ValueError("every valid label is exactly 0: nothing left with exclude_zero=True")
        values_np, labels_np = values_np[keep], labels_np[keep]
    from sklearn.metrics import mean_absolute_error as sk_mean_absolute_error

    return float(sk_mean_absolute_error(labels_np, values_np))


def confusion_matrix(
    pred: ArrayLike,
    labels: ArrayLike,
    mask: ArrayLike | None = None,
    num_classes: int | None = None,
) -> np.ndarray:
    """``(C, C)`` int64 counts over the valid positions; rows = true, columns = predicted class.

    ``num_classes`` defaults to one more than the largest class seen.
    """
    pred_np, labels_np = valid_positions(pred, labels, mask)
    lowest, seen = (
        int(min(pred_np.min(), labels_np.min())),
        int(max(pred_np.max(), labels_np.max())) + 1,
    )
    num_classes = seen if num_classes is None else num_classes
    if lowest < 0 or seen > num_classes:
        raise ValueError(
            f"class indices must lie in [0, {num_classes}), saw values from {lowest} to {seen - 1}"
        )
    cells = labels_np.astype(np.int64) * num_classes + pred_np.astype(np.int64)
    return np.bincount(cells, minlength=num_classes**2).reshape(num_classes, num_classes)
