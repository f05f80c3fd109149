"""Capture and restore every RNG a training run touches, as weights-only-safe values.

Python's and NumPy's Mersenne-Twister states are tuples holding large int
arrays; they are stored as int64 tensors (every word is < 2**32) plus plain
ints/floats so ``torch.load(weights_only=True)`` accepts them.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def capture_rng_state(kernel_generator: torch.Generator | None = None) -> dict[str, Any]:
    version, words, gauss_next = random.getstate()
    np_name, np_key, np_pos, np_has_gauss, np_cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": int(version), "state": torch.tensor(words, dtype=torch.int64), "gauss_next": gauss_next},
        "numpy": {
            "name": str(np_name),
            "key": torch.from_numpy(np.asarray(np_key, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()]
        if torch.cuda.is_available() and torch.cuda.is_initialized()
        else [],
        "kernel": kernel_generator.get_state() if kernel_generator is not None else None,
    }
    return state


def restore_rng_state(state: dict[str, Any], kernel_generator: torch.Generator | None = None) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(int(w) for w in py["state"].tolist()), py["gauss_next"]))
    npst = state["numpy"]
    np.random.set_state(
        (npst["name"], npst["key"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"], npst["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"].cpu())
    cuda_states = state.get("cuda") or []
    if cuda_states and torch.cuda.is_available():
        # A resume on a machine with a different GPU count restores what fits.
        n = min(len(cuda_states), torch.cuda.device_count())
        for i in range(n):
            torch.cuda.set_rng_state(cuda_states[i].cpu(), i)
    if kernel_generator is not None and state.get("kernel") is not None:
        kernel_generator.set_state(state["kernel"].cpu())
