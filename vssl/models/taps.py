"""Feature taps and Grad-CAM through forward hooks (no forward code is duplicated).

Tap names, the same for every backbone:

* ``conv1``: the first conv layer's activation map ``(B, C, T, H, W)``, after
  BN and ReLU and before any pooling (3DRotNet attention maps average it over
  channels). For the factorized stems (R(2+1)D, S3D-G) this is the output of
  the whole (2+1)D pair, which together stand for one 3D conv layer.
* ``pool3``, ``pool4``, ``pool5``: globally average-pooled outputs of stages
  3, 4, 5, ``(B, C)``; the ASLAN features (V3S Sec. 4.6). For C3D the stage
  outputs *are* pool3/pool4 (max-pooled) and conv5b; for the ResNets they are
  layer2/layer3/layer4 (conv3_x/conv4_x/conv5_x in ResNet naming, the blocks
  that sit where C3D's pool3/4/5 do); for S3D-G Mixed_3c/4f (after their
  max-pools) and Mixed_5c. ``pool5`` equals ``last_pool``.
* ``last_pool``: the backbone's output ``(B, D)``, the last pooling layer
  used for retrieval.
* ``last_conv``: the last stage's feature map ``(B, C, T', H', W')``.
* ``conv5_maxpool``: the last stage's map max-pooled over (1, 2, 2) with
  stride (1, 2, 2) and flattened, ``(B, C * T' * H'/2 * W'/2)``: VCOP's
  retrieval feature (``retrieve_clips.py`` with ``return_conv=True``; 9216-d
  for R3D at 16 x 112^2), the protocol V3S's cited retrieval rows come from. A
  map narrower than 2 (toy sizes) is pooled over what it has.
* any stage name (``layer2``, ``conv3``, ``mixed4``, ...): that stage's raw
  output map.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from vssl.models.base import Backbone

DEFAULT_TAPS = ("conv1", "pool3", "pool4", "pool5", "last_pool")
_POOL_STAGE = {"pool3": 3, "pool4": 4, "pool5": 5}


class _Collected(Exception):
    """Raised from a hook once every requested tap is in, to skip the rest of the forward."""


def available_taps(backbone: Backbone) -> tuple[str, ...]:
    pools = tuple(name for name, stage in _POOL_STAGE.items() if stage <= len(backbone.stage_names))
    return ("conv1", *pools, "last_pool", "last_conv", "conv5_maxpool", *backbone.stage_names)


def _tap_points(backbone: Backbone, taps: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """tap -> (module path relative to the backbone, whether to global-average-pool it)."""
    valid = available_taps(backbone)
    unknown = [tap for tap in taps if tap not in valid]
    if unknown:
        raise ValueError(f"{backbone.name}: unknown taps {unknown}; valid taps: {', '.join(valid)}")
    points: dict[str, tuple[str, bool]] = {}
    for tap in taps:
        if tap == "conv1":
            points[tap] = (backbone.first_conv_tap, False)
        elif tap in _POOL_STAGE:
            points[tap] = (backbone.stage_names[_POOL_STAGE[tap] - 1], True)
        elif tap == "last_pool":
            points[tap] = ("pool", False)
        elif tap in ("last_conv", "conv5_maxpool"):
            points[tap] = (backbone.stage_names[-1], False)
        else:
            points[tap] = (tap, False)
    return points


def extract_features(backbone: Backbone, x: Tensor, taps: Iterable[str] = DEFAULT_TAPS) -> dict[str, Tensor]:
    """Run ``backbone`` on ``x`` once and return ``{tap: tensor}`` for the requested taps.

    Runs in the caller's grad mode (wrap in ``torch.no_grad()`` for
    evaluation) and the backbone's current train/eval mode. The forward stops
    as soon as the deepest requested tap is computed, so ``taps=("conv1",)``
    costs only the stem.
    """
    taps = tuple(dict.fromkeys(taps))
    points = _tap_points(backbone, taps)
    modules = dict(backbone.named_modules())
    collected: dict[str, Tensor] = {}

    def make_hook(tap: str, pooled: bool):
        def hook(_module: nn.Module, _inputs: tuple, output: Tensor) -> None:
            if tap == "last_pool":
                output = output.flatten(1)
            elif tap == "conv5_maxpool":
                output = conv5_maxpool(output)
            elif pooled:
                output = output.mean(dim=(2, 3, 4))
            else:
                # Later in-place ops (inplace ReLU, residual +=) must not alter what we return.
                output = output.clone()
            collected[tap] = output
            if len(collected) == len(taps):
                raise _Collected

        return hook

    handles = [modules[path].register_forward_hook(make_hook(tap, pooled)) for tap, (path, pooled) in points.items()]
    try:
        backbone(x)
    except _Collected:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return {tap: collected[tap] for tap in taps}


def conv5_maxpool(feature_map: Tensor) -> Tensor:
    """VCOP's retrieval feature: ``MaxPool3d((1, 2, 2), stride (1, 2, 2))`` of the last map, flattened."""
    h, w = feature_map.shape[-2:]
    pooled = torch.nn.functional.max_pool3d(feature_map, kernel_size=(1, min(2, h), min(2, w)), stride=(1, 2, 2))
    return pooled.flatten(1)


def first_conv_weight(backbone: nn.Module) -> Tensor:
    """Weights of the first `nn.Conv3d` (``(C_out, C_in, kT, kH, kW)``), detached, for the kernel-grid figure.

    For factorized stems this is the spatial 1x7x7 part.
    """
    for module in backbone.modules():
        if isinstance(module, nn.Conv3d):
            return module.weight.detach()
    raise ValueError(f"{type(backbone).__name__} has no Conv3d layer")


def _find_backbone(model: nn.Module) -> Backbone:
    if isinstance(model, Backbone):
        return model
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, Backbone):
        return backbone
    raise TypeError(f"grad_cam needs a Backbone or a model with a .backbone Backbone, got {type(model).__name__}")


def grad_cam(
    model: nn.Module,
    x: Tensor,
    target_index: int | Sequence[int] | Tensor,
    *,
    head: str | None = None,
) -> Tensor:
    """Grad-CAM (Selvaraju et al. 2017) on the backbone's last conv stage: ``(B, T', H', W')``, >= 0.

    ``model`` maps ``x`` to logits ``(B, K)`` (a `PretextModel` or
    `ClassifierModel`), or to ``{name: logits}`` (pick one with ``head``); a
    bare `Backbone` is accepted too, its pooled features acting as the scores.
    ``target_index`` is one class for the whole batch or one per sample. For
    each sample, the channel weights are the gradients of the target score
    w.r.t. the last stage's map, averaged over (T', H', W'); the map is
    ReLU(sum_c w_c A_c). It is not normalised or upsampled (callers do that
    for overlays). Works with frozen backbones; uses the model's current
    train/eval mode, so call ``model.eval()`` first for BN running statistics.
    """
    backbone = _find_backbone(model)
    last_stage = getattr(backbone, backbone.stage_names[-1])
    captured: list[Tensor] = []

    def hook(_module: nn.Module, _inputs: tuple, output: Tensor) -> Tensor:
        # A fresh leaf: gradients reach it even when every parameter is frozen.
        activation = output.detach().requires_grad_(True)
        captured.append(activation)
        return activation

    handle = last_stage.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            scores = model(x)
            if isinstance(scores, dict):
                if head is None or head not in scores:
                    raise ValueError(f"model returns heads {sorted(scores)}; pass head= one of them (got {head!r})")
                scores = scores[head]
            elif head is not None:
                raise ValueError(f"head={head!r} given but the model returns a single tensor")
            targets = torch.as_tensor(target_index, device=scores.device, dtype=torch.long)
            targets = targets.expand(scores.shape[0]) if targets.ndim == 0 else targets
            if targets.shape != (scores.shape[0],):
                raise ValueError(
                    f"target_index must be a scalar or have shape ({scores.shape[0]},), got {tuple(targets.shape)}"
                )
            if bool((targets < 0).any() or (targets >= scores.shape[1]).any()):
                raise ValueError(f"target_index out of range for {scores.shape[1]} outputs: {targets.tolist()}")
            selected = scores.gather(1, targets[:, None]).sum()
            (activation,) = captured
            (gradient,) = torch.autograd.grad(selected, activation)
    finally:
        handle.remove()
    weights = gradient.mean(dim=(2, 3, 4), keepdim=True)
    return torch.relu((weights * activation.detach()).sum(dim=1))
