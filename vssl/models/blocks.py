"""The few 3D building blocks our backbones use, written here so that training processes never import torchvision.

``import torchvision`` pulls in ``torch._dynamo`` (through ``torchvision.ops`` and
``tv_tensors``) and costs several seconds per process, and the workflow starts
hundreds of short processes. These modules reproduce torchvision's
``models/video/resnet.py`` (`Conv3DSimple`, `Conv2Plus1D`, `BasicBlock`) and
``models/video/s3d.py`` / ``ops/misc.py`` (`TemporalSeparableConv`,
`SepInceptionBlock3D`, `Conv3dNormActivation`) module for module, with the same
attribute names, so state dicts load in both directions and outputs are equal
(``tests/test_models.py`` holds them to torchvision's weights and outputs).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class Conv3DSimple(nn.Conv3d):
    """A full 3x3x3 convolution (torchvision's ``Conv3DSimple``)."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1,
                 padding: int = 1) -> None:
        super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride, padding=padding, bias=False)

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


class Conv2Plus1D(nn.Sequential):
    """A (2+1)D convolution: 1x3x3 spatial, BN, ReLU, 3x1x1 temporal (torchvision's ``Conv2Plus1D``)."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1, padding: int = 1) -> None:
        super().__init__(
            nn.Conv3d(in_planes, midplanes, kernel_size=(1, 3, 3), stride=(1, stride, stride),
                      padding=(0, padding, padding), bias=False),
            nn.BatchNorm3d(midplanes),
            nn.ReLU(inplace=True),
            nn.Conv3d(midplanes, out_planes, kernel_size=(3, 1, 1), stride=(stride, 1, 1), padding=(padding, 0, 0),
                      bias=False),
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

    def __init__(self, inplanes: int, planes: int, conv_builder: ConvBuilder, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        midplanes = (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)
        super().__init__()
        self.conv1 = nn.Sequential(conv_builder(inplanes, planes, midplanes, stride), nn.BatchNorm3d(planes),
                                   nn.ReLU(inplace=True))
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

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int, int] = 3,
                 stride: int | tuple[int, int, int] = 1, padding: int | tuple[int, int, int] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm3d, bias: bool | None = None) -> None:
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

    def __init__(self, in_planes: int, out_planes: int, kernel_size: int, stride: int, padding: int,
                 norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__(
            Conv3dNormActivation(in_planes, out_planes, kernel_size=(1, kernel_size, kernel_size),
                                 stride=(1, stride, stride), padding=(0, padding, padding), bias=False,
                                 norm_layer=norm_layer),
            Conv3dNormActivation(out_planes, out_planes, kernel_size=(kernel_size, 1, 1), stride=(stride, 1, 1),
                                 padding=(padding, 0, 0), bias=False, norm_layer=norm_layer),
        )


class SepInceptionBlock3D(nn.Module):
    """S3D's Inception block with separable 3x3x3 convolutions in branches 1 and 2."""

    def __init__(self, in_planes: int, b0_out: int, b1_mid: int, b1_out: int, b2_mid: int, b2_out: int,
                 b3_out: int, norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()
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
