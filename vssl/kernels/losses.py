"""Self-supervised losses as pure functions (as solo-learn keeps them): tensors in, loss out.

`info_nce` is SimCLR's NT-Xent (Chen et al. 2020), the loss CVRL (Qian et al. 2021) trains
video encoders with: for ``2N`` embeddings of ``N`` samples seen twice (view-major: rows ``i``
and ``i + N`` are the two views of sample ``i``), each row's positive is its other view and the
other ``2N - 2`` rows are its negatives.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


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


__all__ = ["info_nce", "positive_index"]
