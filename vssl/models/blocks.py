"""The few 3D building blocks our backbones use, written here so that training processes never import torchvision.

``import torchvision`` pulls in ``torch._dynamo`` (through ``torchvision.ops`` and
``tv_tensors``) and costs several seconds per process, and the workflow starts
hundreds of short processes. These modules reproduce torchvision's
``models/video/resnet.py`` (`Conv3DSimple`, `Conv2Plus1D`, `BasicBlock`) and
``models/video/s3d.py`` / ``ops/misc.py`` (`TemporalSeparableConv`,
`SepInceptionBlock3D`, `Conv3dNormActivation`) module for module, with the same
attribute names, so state dicts load in both directions and outputs are equal
(``tests/models/test_models.py`` holds them to torchvision's weights and outputs).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Tests switch this off to compare the stems with torchvision's bit for bit.
FOLD_STEM_ON_CPU = True


def conv3d_as_conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple[int, int, int], padding: tuple[int, int, int]
) -> Tensor:
    """``F.conv3d(x, weight, bias, stride, padding)`` computed as one 2D convolution.

    The ``kt`` input frames each output frame sees are stacked along channels
    (channel ``i*C + c`` = frame offset ``i``, input channel ``c``), so the 3D
    convolution becomes a 2D one over ``N*T'`` images with ``kt*C`` channels and
    the matching reshaped weight. Equal to float rounding; the layout is
    channels_last throughout, so every reshape is a view except the stacking.
    """
    n, c, t, h, w = x.shape
    o, _, kt, kh, kw = weight.shape
    st, pt = stride[0], padding[0]
    t_out = (t + 2 * pt - kt) // st + 1
    frames = x.permute(0, 2, 3, 4, 1)  # (N, T, H, W, C): a view when x is channels_last_3d
    if pt:
        frames = F.pad(frames, (0, 0, 0, 0, 0, 0, pt, pt))
    span = st * (t_out - 1) + 1
    stacked = torch.cat([frames[:, i : i + span : st] for i in range(kt)], dim=-1)  # (N, T', H, W, kt*C)
    images = stacked.reshape(n * t_out, h, w, kt * c).permute(0, 3, 1, 2)
    weight2d = weight.permute(0, 2, 1, 3, 4).reshape(o, kt * c, kh, kw)
    y = F.conv2d(images, weight2d, bias, stride=stride[1:], padding=padding[1:]).permute(0, 2, 3, 1)
    return y.reshape(n, t_out, *y.shape[1:]).permute(0, 4, 1, 2, 3)


class StemConv3d(nn.Conv3d):
    """The first convolution of a backbone; on the CPU it runs as `conv3d_as_conv2d`.

    oneDNN's 3D kernels handle 3 input channels poorly (the weight gradient alone
    takes three forwards' time), while the 2D kernel over stacked frames is about
    2x faster forward + backward on the toy stem (3 -> 8 channels, 3x7x7, a
    16x16x16 clip; ``python -m bench cpu_step``). Same parameters, state dict and
    (to float rounding) outputs as ``nn.Conv3d``; CUDA keeps cuDNN's 3D kernel.
    """

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if (
            FOLD_STEM_ON_CPU
            and input.device.type == "cpu"
            and self.groups == 1
            and self.dilation == (1, 1, 1)
            and self.padding_mode == "zeros"
            and not isinstance(self.padding, str)
        ):
            return conv3d_as_conv2d(input, weight, bias, self.stride, self.padding)
        return super()._conv_forward(input, weight, bias)


class Conv3DSimple(nn.Conv3d):
    """A full 3x3x3 convolution (torchvision's ``Conv3DSimple``)."""

    def __init__(
        self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1, padding: int = 1
    ) -> None:
        super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride, padding=padding, bias=False)

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


class Conv2Plus1D(nn.Sequential):
    """A (2+1)D convolution: 1x3x3 spatial, BN, ReLU, 3x1x1 temporal (torchvision's ``Conv2Plus1D``)."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1, padding: int = 1) -> None:
        super().__init__(
            nn.Conv3d(
                in_planes,
                midplanes,
                kernel_size=(1, 3, 3),
                stride=(1, stride, stride),
                padding=(0, padding, padding),
                bias=False,
            ),
            nn.BatchNorm3d(midplanes),
            nn.ReLU(inplace=True),
            nn.Conv3d(
                midplanes, out_planes, kernel_size=(3, 1, 1), stride=(stride, 1, 1), padding=(padding, 0, 0), bias=False
            ),
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


ConvBuilder = Callable[..., nn.Module]


class BasicBlock(nn.Module):
    """Two convolutions with BN, a residual connection and ReLU (torchvision's video ``BasicBlock``).

    ``midplanes`` is the parameter-matching width of R(2+1)D (Tran et al. 2018, Sec. 3.5), computed
    once from (inplanes, planes) and given to both convolutions, as torchvision does.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        conv_builder: ConvBuilder,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        midplanes = (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)
        super().__init__()
        self.conv1 = nn.Sequential(
            conv_builder(inplanes, planes, midplanes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = nn.Sequential(conv_builder(planes, planes, midplanes), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.conv2(self.conv1(x))
        return self.relu(out + residual)


class Conv3dNormActivation(nn.Sequential):
    """Conv3d (bias only without a norm), norm, ReLU; "same" padding for odd kernels (torchvision.ops.misc)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int] = 3,
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] | None = None,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm3d,
        bias: bool | None = None,
    ) -> None:
        kernel = (kernel_size,) * 3 if isinstance(kernel_size, int) else tuple(kernel_size)
        if padding is None:
            padding = tuple((k - 1) // 2 for k in kernel)
        if bias is None:
            bias = norm_layer is None
        layers: list[nn.Module] = [nn.Conv3d(in_channels, out_channels, kernel, stride, padding, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


class TemporalSeparableConv(nn.Sequential):
    """S3D's separable conv: 1xkxk spatial then kx1x1 temporal, each with norm and ReLU."""

    def __init__(
        self,
        in_planes: int,
        out_planes: int,
        kernel_size: int,
        stride: int,
        padding: int,
        norm_layer: Callable[..., nn.Module],
    ) -> None:
        super().__init__(
            Conv3dNormActivation(
                in_planes,
                out_planes,
                kernel_size=(1, kernel_size, kernel_size),
                stride=(1, stride, stride),
                padding=(0, padding, padding),
                bias=False,
                norm_layer=norm_layer,
            ),
            Conv3dNormActivation(
                out_planes,
                out_planes,
                kernel_size=(kernel_size, 1, 1),
                stride=(stride, 1, 1),
                padding=(padding, 0, 0),
                bias=False,
                norm_layer=norm_layer,
            ),
        )


class SepInceptionBlock3D(nn.Module):
    """S3D's Inception block with separable 3x3x3 convolutions in branches 1 and 2."""

    def __init__(
        self,
        in_planes: int,
        b0_out: int,
        b1_mid: int,
        b1_out: int,
        b2_mid: int,
        b2_out: int,
        b3_out: int,
        norm_layer: Callable[..., nn.Module],
    ) -> None:
        super().__init__()
        self.branch_planes = (b0_out, b1_out, b2_out, b3_out)
        self.out_planes = sum(self.branch_planes)
        self.branch0 = Conv3dNormActivation(in_planes, b0_out, kernel_size=1, stride=1, norm_layer=norm_layer)
        self.branch1 = nn.Sequential(
            Conv3dNormActivation(in_planes, b1_mid, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(b1_mid, b1_out, kernel_size=3, stride=1, padding=1, norm_layer=norm_layer),
        )
        self.branch2 = nn.Sequential(
            Conv3dNormActivation(in_planes, b2_mid, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(b2_mid, b2_out, kernel_size=3, stride=1, padding=1, norm_layer=norm_layer),
        )
        self.branch3 = nn.Sequential(
            nn.MaxPool3d(kernel_size=(3, 3, 3), stride=1, padding=1),
            Conv3dNormActivation(in_planes, b3_out, kernel_size=1, stride=1, norm_layer=norm_layer),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)), 1)
