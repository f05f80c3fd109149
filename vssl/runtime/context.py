"""`command_context`: the preamble every evaluation command shares, in one ``with``.

Output directory, log file, GPU slot and device, seed, start time: in that order, because the slot
must be taken before anything initialises CUDA, and the log must be open to record which slot.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from vssl.runtime.device import resolve_device
from vssl.runtime.logs import USER_ERRORS, command_logging
from vssl.runtime.seeding import seed_everything


@dataclass(frozen=True)
class CommandContext:
    name: str
    device: torch.device
    log: logging.Logger
    started: float  # time.time() at the start, for the run metadata's wall time


@contextlib.contextmanager
def command_context(
    args: argparse.Namespace, name: str, user_errors: tuple[type[BaseException], ...] = USER_ERRORS
) -> Iterator[CommandContext]:
    """Create ``args.out``, log to ``args.log`` (default ``OUT/<name>.log``), take a GPU slot, seed."""
    started = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = Path(args.log) if getattr(args, "log", None) else out / f"{name}.log"
    with command_logging(log_path, user_errors=user_errors) as log:
        choice = resolve_device(args.device, gpus=1, log=log)
        seed_everything(getattr(args, "seed", 0))
        yield CommandContext(name=name, device=choice.device, log=log, started=started)
