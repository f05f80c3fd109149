"""The `Backbone` contract shared by every registered video encoder.

A backbone is five named *stages* run in order, followed by global average
pooling:

* ``forward(x)`` maps a float clip batch ``(B, C, T, H, W)`` to pooled
  features ``(B, out_features)``;
* ``stages`` lists ``(name, module)`` pairs in execution order. Stage 1 is the
  conv1 block (3DRotNet's "C1"), stages 2-5 the four deeper blocks (C2-C5), so
  freezing (3DRotNet Fig. 4a) and the ASLAN layer taps (pool3/pool4/pool5 are
  stages 3/4/5) are defined once for every architecture;
* ``first_conv_tap`` names the module whose output is the first convolution
  layer's activation (3DRotNet attention maps).

Every builder takes ``width`` (channel multiplier, see `scale_channels`),
``in_channels`` and ``small_input``. The small-input contract: with
``small_input=True`` every backbone has a total (T, H, W) stride of
(8, 16, 16), so a 16 x 32 x 32 clip ends in a 2 x 2 x 2 map and tiny clips are
not pooled away. Backbones whose stem has a max-pool (r3d_18, s3d_g) drop it;
the others (one stride-2 stem conv, no pool) already satisfy the contract and
are unchanged. No stem loses its stride-2 conv: full-resolution 7x7 stem
convs would cost more than the whole rest of a tiny network.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

MIN_CHANNELS = 4


def scale_channels(channels: int, width: float, *, min_channels: int = MIN_CHANNELS) -> int:
    """``channels * width`` rounded to the nearest integer, at least ``min_channels``.

    The floor keeps grouped pieces (S3D's 16-channel branches, for example)
    from collapsing to zero or one channel at small widths.
    """
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return max(min_channels, int(round(channels * width)))


def init_weights(module: nn.Module) -> None:
    """He-normal (fan-out) convs, unit BN, N(0, 0.01) linears: torchvision's VideoResNet init.

    Used for every backbone so architectures differ only in structure, not in
    initialisation scheme.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class Backbone(nn.Module):
    """Stages run in order, then global average pooling to ``out_features``.

    Args:
        name: registry name, used in error messages.
        stages: ``(name, module)`` pairs in execution order (five for every
            registered model: conv1 block + four deeper blocks).
        out_features: channels of the last stage (the pooled feature size).
        in_channels: channels the first conv expects (3 for RGB and DIF).
        first_conv_tap: dotted module path (relative to the backbone) whose
            output is the first conv layer's activation after BN and ReLU,
            before any pooling.
    """

    def __init__(
        self,
        *,
        name: str,
        stages: Sequence[tuple[str, nn.Module]],
        out_features: int,
        in_channels: int,
        first_conv_tap: str,
    ) -> None:
        super().__init__()
        if not stages:
            raise ValueError(f"{name}: a backbone needs at least one stage")
        self.name = name
        self.stage_names: tuple[str, ...] = tuple(stage_name for stage_name, _ in stages)
        if len(set(self.stage_names)) != len(self.stage_names) or "pool" in self.stage_names:
            raise ValueError(f"{name}: stage names must be unique and not 'pool', got {self.stage_names}")
        for stage_name, module in stages:
            self.add_module(stage_name, module)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.out_features = out_features
        self.in_channels = in_channels
        self.first_conv_tap = first_conv_tap
        # Number of leading stages frozen by `freeze_before`; their BN layers stay
        # in eval mode across `train()` calls.
        self.frozen_stages = 0
        if first_conv_tap not in dict(self.named_modules()):
            raise ValueError(f"{name}: first_conv_tap {first_conv_tap!r} is not a submodule path")

    @property
    def stages(self) -> list[tuple[str, nn.Module]]:
        return [(stage_name, getattr(self, stage_name)) for stage_name in self.stage_names]

    def forward_features(self, x: Tensor) -> Tensor:
        """The last stage's feature map ``(B, C, T', H', W')``."""
        if x.ndim != 5 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self.name}: expected a (B, {self.in_channels}, T, H, W) clip batch, got shape {tuple(x.shape)}"
            )
        for stage_name in self.stage_names:
            x = getattr(self, stage_name)(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.forward_features(x)).flatten(1)

    def train(self, mode: bool = True) -> Backbone:
        super().train(mode)
        # Frozen stages keep their BN running statistics fixed, even when the
        # training loop calls model.train() at every epoch.
        for _, module in self.stages[: self.frozen_stages]:
            for m in module.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


def freeze_before(backbone: Backbone, n: int) -> list[str]:
    """Freeze the stages before the n-th (1-based): 3DRotNet Fig. 4a's ">Cn".

    The caption reads: ">Cn means the blocks before the n-th convolution block
    are frozen during fine-tune", with C1 = conv1 block and C2..C5 = the four
    residual stages. Taken literally:

    * n = 1 freezes nothing (full finetune);
    * n = 2 freezes conv1; n = 3 conv1 + layer1; n = 4 conv1 + layer1-2;
    * n = 5 freezes conv1 + layer1-3 (layer4 still trains);
    * n = 6 freezes all five blocks (only the head trains). The text's "all
      the convolution blocks are frozen" case needs this sixth setting; the
      caption's five labels cannot express it, so the figure's x-axis is the
      config's choice.

    Sets ``requires_grad`` for *every* backbone parameter (frozen ones False,
    the rest True), so calls are idempotent and a later call with a smaller n
    unfreezes. Frozen BN layers are put in eval mode and kept there by
    ``Backbone.train``. Returns the names of the frozen stages.
    """
    stages = backbone.stages
    if not 1 <= n <= len(stages) + 1:
        raise ValueError(f"{backbone.name}: freeze_before n must be in 1..{len(stages) + 1}, got {n}")
    frozen = n - 1
    for index, (_, module) in enumerate(stages):
        for p in module.parameters():
            p.requires_grad_(index >= frozen)
    backbone.frozen_stages = frozen
    # Re-apply the current mode so newly frozen BN layers switch to eval now
    # (and unfrozen ones return to train mode).
    backbone.train(backbone.training)
    return [stage_name for stage_name, _ in stages[:frozen]]
