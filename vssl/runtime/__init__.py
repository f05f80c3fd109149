"""The runtime every command shares: device and GPU slots, seeding, logging, provenance.

Training (`vssl.train`) and evaluation (`vssl.eval`) both import this package and nothing of each
other's runtime, so one command cannot take a GPU slot, seed or record its provenance differently
from another. It imports torch and the standard library only.

- `slots`: one lock file per GPU, so concurrent local jobs get distinct devices (standard library only);
- `device`: `resolve_device` (slots first, then CUDA), backend settings, autocast, the cuDNN check;
- `seeding`: `seed_everything`;
- `logs`: `command_logging`, the log file and stderr handlers of a command;
- `provenance`: the one block of versions and commit every ``run.json`` / ``metrics.json`` carries;
- `context`: `command_context`, the preamble of every evaluation command in one ``with``.
"""
