"""`vssl pretexts`: every registered pretext, its heads and class counts, and the paper it follows.

Built with each pretext's defaults (`vssl pretrain --pretext NAME --pretext-params KEY=VALUE`
changes them); "frames" is what the loader reads per sample for 16-frame clips.
"""

from __future__ import annotations

import argparse

from vssl.kernels.pretext import PRETEXTS, build_pretext


def pretext_table() -> list[dict[str, object]]:
    rows = []
    for name in PRETEXTS:
        pretext = build_pretext(name)
        rows.append(
            {
                "pretext": name,
                "heads": ", ".join(f"{head} ({kind} {n})" for head, (kind, n) in pretext.heads.items()),
                "inputs_per_clip": pretext.outputs_per_clip,
                "frames": pretext.frames_needed(),
                "follows": pretext.follows,
            }
        )
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options: the table is the registry


def run(args: argparse.Namespace) -> int:
    rows = pretext_table()
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in columns).rstrip())
    return 0
