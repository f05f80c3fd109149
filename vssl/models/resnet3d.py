"""3D ResNets: 3DRotNet's R3D-18, VCOP's R3D-10 / R(2+1)D-10, torchvision's R(2+1)D-18.

All are assembled from torchvision's building blocks (`BasicBlock`,
`Conv3DSimple`, `Conv2Plus1D`, reproduced in `vssl.models.blocks` so that
training never imports torchvision); only the stems and the width-aware layer
construction are written here, because torchvision's `VideoResNet` hard-codes
64..512 channels and its stems have no width or max-pool option.

Stages (for freezing and taps): ``conv1`` (stem), ``layer1`` .. ``layer4``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from vssl.models.base import Backbone, init_weights, scale_channels
from vssl.models.blocks import BasicBlock, Conv2Plus1D, Conv3DSimple, StemConv3d
from vssl.models.registry import register_model

ConvBuilder = type[Conv3DSimple] | type[Conv2Plus1D]

RESNET_PLANES = (64, 128, 256, 512)


def factorized_midplanes(in_planes: int, out_planes: int, kernel: tuple[int, int, int]) -> int:
    """R(2+1)D's intermediate width: the (2+1)D pair has as many weights as the full 3D kernel.

    M = floor(t*d*d*N_in*N_out / (d*d*N_in + t*N_out)) (Tran et al. 2018, Sec. 3.5);
    torchvision's `BasicBlock` uses the same formula for its residual convs.
    """
    t, h, w = kernel
    return (t * h * w * in_planes * out_planes) // (h * w * in_planes + t * out_planes)


class Conv2Plus1DPerConv(Conv2Plus1D):
    """torchvision's `Conv2Plus1D` with its own parameter-matching intermediate width.

    torchvision's `BasicBlock` computes one ``midplanes`` from (inplanes, planes)
    and gives it to *both* of its convs, so in a downsampling block the second
    (planes -> planes) conv is narrower than Tran et al.'s rule. The
    R2Plus1D-PyTorch `SpatioTemporalConv` that VCOP's R(2+1)D follows computes
    M for each conv from that conv's own (in, out); this builder ignores the
    midplanes it is handed and does the same. With it the 10-layer net has
    14.37M parameters, matching the 14.4M VCOP and V3S quote; with the shared
    width it would have 12.5M. (VCOP's r21d.py itself is not in our code
    index; the match of the count is the evidence.)
    """

    def __init__(
        self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1, padding: int = 1
    ) -> None:
        super().__init__(in_planes, out_planes, factorized_midplanes(in_planes, out_planes, (3, 3, 3)), stride, padding)


def make_res_layer(in_planes: int, planes: int, blocks: int, conv_builder: ConvBuilder, stride: int) -> nn.Sequential:
    """``blocks`` torchvision BasicBlocks; the first one downsamples with a 1x1x1 conv + BN shortcut.

    The projection shortcut ("type B" in Hara et al.) is what torchvision and
    VCOP use; it adds a few parameters over zero-padding shortcuts.
    """
    downsample = None
    if stride != 1 or in_planes != planes:
        downsample = nn.Sequential(
            nn.Conv3d(in_planes, planes, kernel_size=1, stride=conv_builder.get_downsample_stride(stride), bias=False),
            nn.BatchNorm3d(planes),
        )
    layers = [BasicBlock(in_planes, planes, conv_builder, stride, downsample)]
    layers += [BasicBlock(planes, planes, conv_builder) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def _resnet(
    *,
    name: str,
    stem: nn.Module,
    stem_planes: int,
    first_conv_tap: str,
    conv_builder: ConvBuilder,
    blocks: Sequence[int],
    width: float,
    in_channels: int,
) -> Backbone:
    planes = [scale_channels(p, width) for p in RESNET_PLANES]
    stages: list[tuple[str, nn.Module]] = [("conv1", stem)]
    in_planes = stem_planes
    for index, (n_blocks, out_planes) in enumerate(zip(blocks, planes, strict=True)):
        stride = 1 if index == 0 else 2
        stages.append((f"layer{index + 1}", make_res_layer(in_planes, out_planes, n_blocks, conv_builder, stride)))
        in_planes = out_planes
    backbone = Backbone(
        name=name, stages=stages, out_features=planes[-1], in_channels=in_channels, first_conv_tap=first_conv_tap
    )
    init_weights(backbone)
    return backbone


def _full3d_stem(in_channels: int, planes: int, *, temporal_kernel: int, max_pool: bool) -> nn.Sequential:
    """Conv (t x 7 x 7, stride 1 x 2 x 2) - BN - ReLU [- 3x3x3 stride-2 max-pool]."""
    layers: list[nn.Module] = [
        StemConv3d(
            in_channels,
            planes,
            kernel_size=(temporal_kernel, 7, 7),
            stride=(1, 2, 2),
            padding=(temporal_kernel // 2, 3, 3),
            bias=False,
        ),
        nn.BatchNorm3d(planes),
        nn.ReLU(inplace=True),
    ]
    if max_pool:
        layers.append(nn.MaxPool3d(kernel_size=3, stride=2, padding=1))
    return nn.Sequential(*layers)


def _factorized_stem(in_channels: int, mid_planes: int, planes: int) -> nn.Sequential:
    """R(2+1)D stem: (1x7x7 stride-(1,2,2) spatial conv - BN - ReLU) then (3x1x1 temporal conv - BN - ReLU)."""
    return nn.Sequential(
        nn.Conv3d(
            in_channels,
            mid_planes,
            kernel_size=(1, 7, 7),
            stride=(1, 2, 2),
            padding=(0, 3, 3),
            bias=False,
        ),
        nn.BatchNorm3d(mid_planes),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid_planes, planes, kernel_size=(3, 1, 1), padding=(1, 0, 0), bias=False),
        nn.BatchNorm3d(planes),
        nn.ReLU(inplace=True),
    )


@register_model("r3d_18", paper_params_m=33.6, paper_source="V3S Table 2 (R3D)")
def r3d_18(*, width: float = 1.0, in_channels: int = 3, small_input: bool = False) -> Backbone:
    """3DRotNet's 3D ResNet-18: 7x7x7 conv1 + BN + ReLU + max-pool, 4 x 2 BasicBlocks, GAP -> 512.

    3DRotNet Sec. 3.3 gives the block structure (conv, BN, ReLU, max-pool, then
    four residual blocks, GAP to 512) but not the conv1 geometry; it follows
    Hara et al. [14], whose 3D ResNet-18 uses a 7x7x7 conv1 with stride
    (1, 2, 2), padding 3, and a 3x3x3 stride-2 max-pool (which also halves
    time). We use that, with projection ("B") shortcuts. V3S's "R3D" (33.6M)
    is taken to be the same 18-layer network.

    ``small_input`` drops the max-pool, bringing the total stride from
    (16, 32, 32) to the small-input contract's (8, 16, 16).
    """
    stem_planes = scale_channels(64, width)
    stem = _full3d_stem(in_channels, stem_planes, temporal_kernel=7, max_pool=not small_input)
    return _resnet(
        name="r3d_18",
        stem=stem,
        stem_planes=stem_planes,
        first_conv_tap="conv1.2",
        conv_builder=Conv3DSimple,
        blocks=(2, 2, 2, 2),
        width=width,
        in_channels=in_channels,
    )


@register_model("r3d_10")
def r3d_10(*, width: float = 1.0, in_channels: int = 3, small_input: bool = False) -> Backbone:
    """VCOP's R3D-10: 3x7x7 stride-(1,2,2) conv1 without max-pool, one BasicBlock per stage.

    This is VCOP's ``R3DNet((1, 1, 1, 1))`` (models/r3d.py): torchvision's
    BasicStem and BasicBlock with one block per stage. Its total stride is
    already (8, 16, 16), so ``small_input`` changes nothing.
    """
    del small_input  # accepted for a uniform builder signature
    return _tran_r3d("r3d_10", (1, 1, 1, 1), width=width, in_channels=in_channels)


@register_model("r3d_18_tran")
def r3d_18_tran(*, width: float = 1.0, in_channels: int = 3, small_input: bool = False) -> Backbone:
    """Tran et al.'s R3D-18 ("R3D [25]" in V3S): 3x7x7 stride-(1,2,2) conv1 without max-pool, 4 x 2 BasicBlocks.

    Identical to ``torchvision.models.video.r3d_18`` without its fc at width 1
    (its ``stem.*`` weights load as our ``conv1.*``) and to VCOP's
    ``R3DNet((2, 2, 2, 2))``. Its total stride is already (8, 16, 16), so
    ``small_input`` changes nothing.
    """
    del small_input  # accepted for a uniform builder signature
    return _tran_r3d("r3d_18_tran", (2, 2, 2, 2), width=width, in_channels=in_channels)


def _tran_r3d(name: str, blocks: tuple[int, int, int, int], *, width: float, in_channels: int) -> Backbone:
    """Tran et al.'s R3D family (VCOP's ``R3DNet``): 3x7x7 stride-(1,2,2) conv1, no max-pool, BasicBlocks."""
    stem_planes = scale_channels(64, width)
    stem = _full3d_stem(in_channels, stem_planes, temporal_kernel=3, max_pool=False)
    return _resnet(
        name=name,
        stem=stem,
        stem_planes=stem_planes,
        first_conv_tap="conv1.2",
        conv_builder=Conv3DSimple,
        blocks=blocks,
        width=width,
        in_channels=in_channels,
    )


@register_model("r21d_10", paper_params_m=14.4, paper_source="V3S Table 2 (R(2+1)D)")
def r21d_10(*, width: float = 1.0, in_channels: int = 3, small_input: bool = False) -> Backbone:
    """VCOP's R(2+1)D-10: factorized 3x7x7 stem, one (2+1)D BasicBlock per stage.

    As VCOP's ``R2Plus1DNet((1, 1, 1, 1))``: every (2+1)D conv, the stem's
    included, gets the parameter-matching intermediate width of its own
    (in, out) pair (`Conv2Plus1DPerConv`; the stem's is 83 at width 1, not
    torchvision's 45). One deliberate difference: VCOP also factorizes the
    1x1x1 downsampling shortcut into a (1x1x1, 1x1x1) pair with BN+ReLU in
    between; we keep torchvision's single 1x1x1 conv (~0.1% fewer parameters).
    Its total stride is already (8, 16, 16), so ``small_input`` changes nothing.
    """
    del small_input  # accepted for a uniform builder signature
    stem_planes = scale_channels(64, width)
    mid = factorized_midplanes(in_channels, stem_planes, (3, 7, 7))
    stem = _factorized_stem(in_channels, mid, stem_planes)
    return _resnet(
        name="r21d_10",
        stem=stem,
        stem_planes=stem_planes,
        first_conv_tap="conv1.5",
        conv_builder=Conv2Plus1DPerConv,
        blocks=(1, 1, 1, 1),
        width=width,
        in_channels=in_channels,
    )


@register_model("r2plus1d_18")
def r2plus1d_18(*, width: float = 1.0, in_channels: int = 3, small_input: bool = False) -> Backbone:
    """torchvision's R(2+1)D-18: R2Plus1dStem (45-channel 1x7x7 then 3x1x1), 4 x 2 (2+1)D BasicBlocks.

    Identical to ``torchvision.models.video.r2plus1d_18`` without its fc at
    width 1; the stem's 45 intermediate channels scale with ``width``.
    Its total stride is already (8, 16, 16), so ``small_input`` changes nothing.
    """
    del small_input  # accepted for a uniform builder signature
    stem_planes = scale_channels(64, width)
    stem = _factorized_stem(in_channels, scale_channels(45, width), stem_planes)
    return _resnet(
        name="r2plus1d_18",
        stem=stem,
        stem_planes=stem_planes,
        first_conv_tap="conv1.5",
        conv_builder=Conv2Plus1D,
        blocks=(2, 2, 2, 2),
        width=width,
        in_channels=in_channels,
    )
