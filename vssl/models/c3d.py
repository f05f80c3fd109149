"""C3D as used by VCOP, VCP, PRP and V3S: eight 3x3x3 convs with BN, no FC layers.

Layout (Tran et al. 2015, with BN after every conv as in VCOP's models/c3d.py):

    conv1 (64)  pool1 1x2x2
    conv2 (128) pool2 2x2x2
    conv3a/b (256) pool3 2x2x2
    conv4a/b (512) pool4 2x2x2
    conv5a/b (512) -> global average pool ("pool5") -> 512

Pools use ``ceil_mode`` like Caffe, where C3D was defined: identical on the
even sizes of standard clips (16 x 112 x 112), and short or odd-sized clips
(T = 4, say) still go through instead of pooling to zero.

Stages ``conv1`` .. ``conv5`` each end with their pooling layer, so the
``poolN`` taps are the outputs of stage N, exactly C3D's poolN layers.

Parameter count: the eight convs hold 27.7M parameters. V3S (like VCP/PRP)
quotes 58.3M for "C3D"; no conv-only C3D reaches that, and none of the papers
says which FC layers they counted, so we report our conv-only count beside
theirs rather than bolting on FC layers the self-supervised protocol never
uses (features come from pool5, and the classifier is a single FC).
"""

from __future__ import annotations

from torch import nn

from vssl.models.base import Backbone, init_weights, scale_channels
from vssl.models.blocks import StemConv3d
from vssl.models.registry import register_model


def _pool(kernel: tuple[int, int, int]) -> nn.MaxPool3d:
    return nn.MaxPool3d(kernel_size=kernel, stride=kernel, ceil_mode=True)


def _conv_bn_relu(in_planes: int, planes: int, *, stem: bool = False) -> list[nn.Module]:
    # Conv bias kept (VCOP's C3D has it) although BN makes it redundant.
    conv = (StemConv3d if stem else nn.Conv3d)(in_planes, planes, kernel_size=3, padding=1)
    return [conv, nn.BatchNorm3d(planes), nn.ReLU(inplace=True)]


@register_model("c3d", paper_params_m=58.3, paper_source="V3S Table 2 (C3D)")
def c3d(*, width: float = 1.0, in_channels: int = 3, small_input: bool = False) -> Backbone:
    """C3D (VCOP variant): 8 conv3x3x3+BN+ReLU layers in 5 blocks with max-pools, GAP -> 512.

    Its total stride is already (8, 16, 16), so ``small_input`` changes nothing.
    """
    del small_input  # accepted for a uniform builder signature
    c1, c2, c3, c4, c5 = (scale_channels(c, width) for c in (64, 128, 256, 512, 512))
    stages = [
        ("conv1", nn.Sequential(*_conv_bn_relu(in_channels, c1, stem=True), _pool((1, 2, 2)))),
        ("conv2", nn.Sequential(*_conv_bn_relu(c1, c2), _pool((2, 2, 2)))),
        ("conv3", nn.Sequential(*_conv_bn_relu(c2, c3), *_conv_bn_relu(c3, c3), _pool((2, 2, 2)))),
        ("conv4", nn.Sequential(*_conv_bn_relu(c3, c4), *_conv_bn_relu(c4, c4), _pool((2, 2, 2)))),
        ("conv5", nn.Sequential(*_conv_bn_relu(c4, c5), *_conv_bn_relu(c5, c5))),
    ]
    backbone = Backbone(name="c3d", stages=stages, out_features=c5, in_channels=in_channels, first_conv_tap="conv1.2")
    init_weights(backbone)
    return backbone
