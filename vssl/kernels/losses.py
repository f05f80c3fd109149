"""Losses as pure functions (as solo-learn keeps them): tensors in, ``(loss, metric sum)`` out.

One per head kind the training loop knows: `classification_loss` (cross-entropy; the metric is the
number of correct argmaxes), `regression_loss` (L1 or L2; the metric is the summed per-sample mean
absolute error) and `info_nce` (the contrastive pretext's; the metric counts rows whose nearest row
is their positive). The loop divides each metric sum by the number of targets.

`info_nce` is SimCLR's NT-Xent (Chen et al. 2020), the loss CVRL (Qian et al. 2021) trains
video encoders with: for ``2N`` embeddings of ``N`` samples seen twice (view-major: rows ``i``
and ``i + N`` are the two views of sample ``i``), each row's positive is its other view and the
other ``2N - 2`` rows are its negatives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

REGRESSION_LOSSES = ("l1", "l2")


def classification_loss(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of ``(N, K)`` logits against ``(N,)`` labels, and the number of correct argmaxes."""
    return F.cross_entropy(logits, target), (logits.argmax(1) == target).sum().float()


def regression_loss(prediction: Tensor, target: Tensor, kind: str = "l1") -> tuple[Tensor, Tensor]:
    """Mean L1 (or L2) loss, and the sum over samples of each sample's mean absolute error."""
    if kind not in REGRESSION_LOSSES:
        raise ValueError(f"regression loss must be one of {REGRESSION_LOSSES}, got {kind!r}")
    prediction = prediction.reshape(target.shape)
    loss = F.l1_loss(prediction, target) if kind == "l1" else F.mse_loss(prediction, target)
    return loss, (prediction - target).abs().reshape(prediction.shape[0], -1).mean(1).sum()


def positive_index(n: int, device: torch.device | str | None = None) -> Tensor:
    """``(2N,)`` int64: the row holding each row's other view (view-major layout)."""
    return (torch.arange(2 * n, device=device) + n) % (2 * n)


def info_nce(embeddings: Tensor, temperature: float = 0.1) -> tuple[Tensor, Tensor]:
    """NT-Xent over ``(2N, D)`` view-major embeddings: returns ``(mean loss, rows whose nearest row is the positive)``.

    Cosine similarities divided by ``temperature``, the row itself excluded, cross-entropy
    against the positive. The count is the "top-1 on the positive" accuracy's numerator.
    """
    if embeddings.ndim != 2 or embeddings.shape[0] % 2 or embeddings.shape[0] < 4:
        raise ValueError(f"expected (2N, D) embeddings with N >= 2, got shape {tuple(embeddings.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = F.normalize(embeddings.float(), dim=1)
    logits = z @ z.t() / temperature
    logits = logits.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf"))
    target = positive_index(len(z) // 2, z.device)
    return F.cross_entropy(logits, target), (logits.argmax(1) == target).sum()


def metric_name(head: str, kind: str) -> str:
    """A head's metric: ``mae_<head>`` for regression, else ``acc_<head>``."""
    return f"mae_{head}" if kind == "regression" else f"acc_{head}"


def outputs_by_head(outputs: Tensor | Mapping[str, Tensor], heads: Mapping[str, object]) -> dict[str, Tensor]:
    """A model's outputs per head: a multi-head model returns a mapping, a one-head model its tensor."""
    if isinstance(outputs, Mapping):
        return dict(outputs)
    (name,) = heads
    return {name: outputs}


def heads_loss(
    heads: Mapping[str, tuple[str, int]],
    outputs: Mapping[str, Tensor],
    targets: Mapping[str, Tensor],
    *,
    regression: str = "l1",
    other: Callable[[str, Tensor, Tensor], tuple[Tensor, Tensor]] | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Sum of the per-head losses (V3S: L = L_S + L_T) and each head's metric sum.

    ``heads`` maps a head to ``(kind, size)``; a kind other than classification or regression
    goes to ``other(name, outputs, target)`` (the contrastive pretext's InfoNCE), which returns
    ``(loss, correct count)``.
    """
    total: Tensor | None = None
    stats: dict[str, Tensor] = {}
    for name, (kind, _) in heads.items():
        out, target = outputs[name].float(), targets[name]
        if kind == "classification":
            loss, metric = classification_loss(out, target)
        elif kind == "regression":
            loss, metric = regression_loss(out, target, regression)
        elif other is not None:
            loss, correct = other(name, out, target)
            metric = correct.float()
        else:
            raise ValueError(f"no loss for head {name!r} of kind {kind!r}")
        stats[metric_name(name, kind)] = metric
        total = loss if total is None else total + loss
    if total is None:
        raise ValueError("no heads to score")
    return total, stats


__all__ = [
    "REGRESSION_LOSSES",
    "classification_loss",
    "heads_loss",
    "info_nce",
    "metric_name",
    "outputs_by_head",
    "positive_index",
    "regression_loss",
]
