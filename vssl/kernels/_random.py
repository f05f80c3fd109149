"""Per-clip random draws from a ``torch.Generator``.

Parameters are drawn on the generator's own device (CPU for the default
generator) and then moved to the clips' device, so the same seed gives the same
parameters on CPU and CUDA, and no draw needs a host sync.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def uniform(n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None) -> Tensor:
    """``n`` float64 draws from ``U[0, 1)``."""
    return torch.rand(n, generator=generator, dtype=torch.float64, device=_gen_device(generator)).to(device)


def randint(
    high: int, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> Tensor:
    """``n`` int64 draws from ``{0, ..., high - 1}``."""
    if high < 1:
        raise ValueError(f"cannot draw from an empty range (high={high})")
    return torch.randint(high, (n,), generator=generator, device=_gen_device(generator)).to(device)


def bernoulli(
    p: float, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> Tensor:
    """``n`` booleans, each true with probability ``p``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    return uniform(n, generator, "cpu").lt(p).to(device)
