"""`vssl models`: registered backbones with parameter counts and GMACs.

Parameters are the backbone's only (no head). GMACs are counted with
`torch.utils.flop_counter.FlopCounterMode` for one clip (3 x T x S x S,
default 3 x 16 x 112 x 112) as FLOPs / 2; the counter covers convolutions and
matrix products (BN, pooling, activations and S3D-G's gating products are not
counted, as is usual). Models are built on the meta device, so the table costs
no memory or compute at any width.

The paper column is the count a paper quotes for that architecture (V3S
Table 2), always for the full-width network; our counts are printed beside
it, never replaced by it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.utils.flop_counter import FlopCounterMode

from vssl.models.registry import get_model, list_models, model_spec

if TYPE_CHECKING:
    import pandas


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def count_gmacs(name: str, *, width: float = 1.0, frames: int = 16, size: int = 112, in_channels: int = 3) -> float:
    """Multiply-accumulates (x 1e9) of one forward pass of a single clip, counted on the meta device."""
    with torch.device("meta"):
        backbone = get_model(name, width=width, in_channels=in_channels).eval()
        clip = torch.empty(1, in_channels, frames, size, size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        backbone(clip)
    return counter.get_total_flops() / 2 / 1e9


def model_table(width: float = 1.0, *, frames: int = 16, size: int = 112) -> pandas.DataFrame:
    """One row per registered model: parameters, the paper's count, GMACs for a 3 x frames x size^2 clip."""
    import pandas as pd

    rows = []
    for name in list_models():
        spec = model_spec(name)
        with torch.device("meta"):
            backbone = get_model(name, width=width)
        params = count_parameters(backbone)
        rows.append(
            {
                "model": name,
                "width": width,
                "out_features": backbone.out_features,
                "params": params,
                "params_M": round(params / 1e6, 2),
                "paper_params_M": spec.paper_params_m,
                "paper_source": spec.paper_source or "",
                "gmacs": round(count_gmacs(name, width=width, frames=frames, size=size), 2),
                "clip": f"3x{frames}x{size}x{size}",
                "description": spec.description,
            }
        )
    return pd.DataFrame(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--width", type=float, default=1.0, help="channel width multiplier (default 1.0)")
    parser.add_argument("--frames", type=int, default=16, help="clip length for GMACs (default 16)")
    parser.add_argument("--size", type=int, default=112, help="clip height = width for GMACs (default 112)")
    parser.add_argument("--csv", type=Path, default=None, metavar="PATH", help="also write the table as CSV")


def run(args: argparse.Namespace) -> int:
    if args.width <= 0:
        raise SystemExit(f"vssl models: --width must be positive, got {args.width}")
    table = model_table(args.width, frames=args.frames, size=args.size)
    shown = table[["model", "params_M", "paper_params_M", "paper_source", "gmacs", "out_features"]].rename(
        columns={"gmacs": f"GMACs ({table['clip'].iloc[0]})"}
    )
    print(shown.to_string(index=False, na_rep=""))
    if args.csv is not None:
        from vssl.utils.io import atomic_write_csv

        atomic_write_csv(args.csv, table)
        print(f"wrote {args.csv}")
    return 0
