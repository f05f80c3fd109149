"""S3D-G (Xie et al. 2018): separable-conv Inception with self-gating.

torchvision's ``s3d`` is S3D *without* gating. We reuse its
`TemporalSeparableConv` and `SepInceptionBlock3D` (reproduced in
`vssl.models.blocks`, so training never imports torchvision) and add the feature gating
of S3D-G: for each Inception branch output x (C channels),

    y = sigmoid(W * mean_{t,h,w}(x) + b) (*) x,   W in R^{C x C},

i.e. a per-channel gate computed from the branch's global average. Xie et al.
apply gating inside every Inception block; where exactly is left open in the
paper. We gate each of the four branch outputs before concatenation, as the
S3D-G release used by MIL-NCE/SpeedNet does inside its Inception blocks, but we
do *not* keep two other details of that release: its extra gate after Conv_2c
(our stem convs are not gated), and its full (not separable) 3x7x7 Conv_1a (ours is
torchvision's separable 1x7x7 + 7x1x1 pair). Either would change the parameter
count only slightly; neither is named by V3S.

Other choices, stated:
* BatchNorm uses eps 1e-3 (TF's) but PyTorch's momentum 0.1: torchvision's
  0.001 momentum exists to match ported TF weights, and with training from
  scratch it would leave the running statistics stale for thousands of steps.
* MaxPool_5a (2x2x2, stride 2) uses ``ceil_mode`` to match TF's SAME padding,
  so odd sizes (7x7 at 112 px) round up instead of dropping a row.

Parameters: 9.10M at width 1 (torchvision's ungated S3D features: 7.91M;
gating adds 1.19M). With a 400-way Kinetics classifier it would be 9.51M,
near the 9.6M V3S quotes from SpeedNet/CoCLR, which likely counted one.

Stages: ``conv1`` (Conv_1a [+ MaxPool_2a]), ``conv2`` (Conv_2b, Conv_2c,
MaxPool_3a), ``mixed3`` (3b, 3c, MaxPool_4a), ``mixed4`` (4b-4f, MaxPool_5a),
``mixed5`` (5b, 5c) -> GAP -> 1024.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from vssl.models.base import Backbone, init_weights, scale_channels
from vssl.models.blocks import Conv3dNormActivation, SepInceptionBlock3D, TemporalSeparableConv
from vssl.models.registry import register_model

# Inception configs (in, b0_out, b1_mid, b1_out, b2_mid, b2_out, b3_out): torchvision's / Xie et al.'s.
_MIXED_3 = ((192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64))
_MIXED_4 = (
    (480, 192, 96, 208, 16, 48, 64),
    (512, 160, 112, 224, 24, 64, 64),
    (512, 128, 128, 256, 24, 64, 64),
    (512, 112, 144, 288, 32, 64, 64),
    (528, 256, 160, 320, 32, 128, 128),
)
_MIXED_5 = ((832, 256, 160, 320, 32, 128, 128), (832, 384, 192, 384, 48, 128, 128))


class SelfGating(nn.Module):
    """Per-channel sigmoid gate from the global spatiotemporal average (S3D-G feature gating)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.fc(x.mean(dim=(2, 3, 4))))
        return x * gate[:, :, None, None, None]


class GatedSepInceptionBlock3D(SepInceptionBlock3D):
    """torchvision's separable Inception block with a `SelfGating` on each branch output."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gates = nn.ModuleList(SelfGating(c) for c in self.branch_planes)

    def forward(self, x: Tensor) -> Tensor:
        branches = (self.branch0, self.branch1, self.branch2, self.branch3)
        return torch.cat([gate(branch(x)) for branch, gate in zip(branches, self.gates)], dim=1)


def _mixed(
    configs: tuple[tuple[int, ...], ...], in_planes: int, width: float, norm_layer: Callable[..., nn.Module]
) -> tuple[list[nn.Module], int]:
    """Width-scaled gated Inception blocks; input width of each follows the previous output."""
    blocks: list[nn.Module] = []
    for config in configs:
        branch_widths = [scale_channels(c, width) for c in config[1:]]
        block = GatedSepInceptionBlock3D(in_planes, *branch_widths, norm_layer=norm_layer)
        blocks.append(block)
        in_planes = block.out_planes
    return blocks, in_planes


@register_model("s3d_g", paper_params_m=9.6, paper_source="V3S Table 2 (S3D-G)")
def s3d_g(*, width: float = 1.0, in_channels: int = 3, small_input: bool = False) -> Backbone:
    """S3D-G: torchvision's S3D with self-gating on every Inception branch, GAP -> 1024.

    ``small_input`` drops MaxPool_2a, bringing the total stride from (8, 32, 32)
    to the small-input contract's (8, 16, 16).
    """
    norm_layer = partial(nn.BatchNorm3d, eps=1e-3)
    c1, c2b, c2c = (scale_channels(c, width) for c in (64, 64, 192))
    conv1: list[nn.Module] = [TemporalSeparableConv(in_channels, c1, 7, 2, 3, norm_layer)]
    if not small_input:
        conv1.append(nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)))
    conv2 = [
        Conv3dNormActivation(c1, c2b, kernel_size=1, stride=1, norm_layer=norm_layer),
        TemporalSeparableConv(c2b, c2c, 3, 1, 1, norm_layer),
        nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
    ]
    mixed3, planes = _mixed(_MIXED_3, c2c, width, norm_layer)
    mixed3.append(nn.MaxPool3d(kernel_size=3, stride=2, padding=1))
    mixed4, planes = _mixed(_MIXED_4, planes, width, norm_layer)
    mixed4.append(nn.MaxPool3d(kernel_size=2, stride=2, ceil_mode=True))
    mixed5, planes = _mixed(_MIXED_5, planes, width, norm_layer)
    stages = [
        ("conv1", nn.Sequential(*conv1)),
        ("conv2", nn.Sequential(*conv2)),
        ("mixed3", nn.Sequential(*mixed3)),
        ("mixed4", nn.Sequential(*mixed4)),
        ("mixed5", nn.Sequential(*mixed5)),
    ]
    backbone = Backbone(
        name="s3d_g", stages=stages, out_features=planes, in_channels=in_channels, first_conv_tap="conv1.0"
    )
    init_weights(backbone)
    return backbone
