"""Heads on pooled backbone features, and backbone + head wrappers.

* `RotationHead`: 3DRotNet Sec. 3.3, "two fully connected layers with the
  dimensions of 64 and 4". The paper names no activation, dropout or BN;
  two stacked linear maps without a non-linearity would collapse into one,
  so we put a ReLU between them and add nothing else.
* `AngleRegressionHead`: the same 512 -> 64 -> ReLU trunk ending in one
  output (the angle; the loss decides its units) or two (cos, sin), for the
  continuous 0-360 degree regression variant (3DRotNet Sec. 3.1 / rot-8/360).
* `MultiHead` / `V3SHead`: V3S feeds the feature "to two fully connected (FC)
  layers", one per transformation family (spatial, temporal), each a softmax
  classifier; the summed loss L = L_S + L_T is the training loop's job.
* `ClipOrderHead`: VCOP's order classifier (`models/vcopn.py` of
  xudejing/video-clip-order-prediction): each pair of clip features
  concatenated, FC(2D -> 512) - ReLU per pair, pairs concatenated, dropout,
  FC(pairs * 512 -> tuple_len!).
* `ProjectionHead`: the contrastive pretext's MLP, FC(in -> hidden) - ReLU -
  FC(hidden -> dim) as SimCLR/CVRL (hidden None: one linear map).
* `LinearClassifier`: the finetuning head (3DRotNet: "only one fully
  connected layer of size equals to the number of action classes"), with
  optional dropout before it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from vssl.models.base import Backbone


class RotationHead(nn.Sequential):
    """FC(in -> hidden) - ReLU - FC(hidden -> num_classes) rotation classifier (3DRotNet: 512 -> 64 -> K)."""

    def __init__(self, in_features: int = 512, num_classes: int = 4, *, hidden: int = 64) -> None:
        if num_classes < 2:
            raise ValueError(f"RotationHead needs at least 2 rotation classes, got {num_classes}")
        super().__init__(nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes))
        self.in_features = in_features
        self.num_classes = num_classes


class AngleRegressionHead(nn.Sequential):
    """FC(in -> hidden) - ReLU - FC(hidden -> outputs): 1 output (angle) or 2 outputs (cos, sin)."""

    def __init__(self, in_features: int = 512, outputs: int = 1, *, hidden: int = 64) -> None:
        if outputs not in (1, 2):
            raise ValueError(f"AngleRegressionHead outputs must be 1 (angle) or 2 (cos, sin), got {outputs}")
        super().__init__(nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, outputs))
        self.in_features = in_features
        self.outputs = outputs


class ClipOrderHead(nn.Module):
    """VCOP's pairwise order head: tuple-major ``(B * tuple_len, D)`` clip features -> ``(B, tuple_len!)`` logits."""

    def __init__(self, in_features: int, tuple_len: int = 3, *, hidden: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        if tuple_len < 2:
            raise ValueError(f"ClipOrderHead needs at least 2 clips per tuple, got {tuple_len}")
        self.in_features, self.tuple_len = in_features, tuple_len
        self.pairs = [(i, j) for i in range(tuple_len) for j in range(i + 1, tuple_len)]
        self.num_classes = math.factorial(tuple_len)
        self.fc7 = nn.Linear(2 * in_features, hidden)
        self.fc8 = nn.Linear(hidden * len(self.pairs), self.num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, features: Tensor) -> Tensor:
        if features.shape[0] % self.tuple_len:
            raise ValueError(f"{features.shape[0]} clip features are not whole tuples of {self.tuple_len}")
        clips = features.view(-1, self.tuple_len, features.shape[1])
        pairs = torch.stack([torch.cat([clips[:, i], clips[:, j]], dim=1) for i, j in self.pairs], dim=1)
        hidden = torch.relu(self.fc7(pairs)).flatten(1)  # (B, pairs * hidden), pair-major as VCOP's cat
        return self.fc8(self.dropout(hidden))


class ProjectionHead(nn.Sequential):
    """FC(in -> hidden) - ReLU - FC(hidden -> dim), or FC(in -> dim) when ``hidden`` is None."""

    def __init__(self, in_features: int, dim: int = 128, *, hidden: int | None = None) -> None:
        if dim < 1:
            raise ValueError(f"projection dim must be positive, got {dim}")
        layers: list[nn.Module] = (
            [nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim)]
            if hidden
            else [nn.Linear(in_features, dim)]
        )
        super().__init__(*layers)
        self.in_features, self.dim = in_features, dim


class LinearClassifier(nn.Sequential):
    """[Dropout(p)] - FC(in -> num_classes): the finetuning / linear-probe head."""

    def __init__(self, in_features: int, num_classes: int, *, dropout: float = 0.0) -> None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        layers: list[nn.Module] = [nn.Dropout(dropout)] if dropout > 0 else []
        layers.append(nn.Linear(in_features, num_classes))
        super().__init__(*layers)
        self.in_features = in_features
        self.num_classes = num_classes


class MultiHead(nn.Module):
    """Independent heads on one feature vector; ``forward`` returns ``{name: logits}``.

    Each head is FC(in -> n) when ``hidden`` is None, else its own
    FC(in -> hidden) - ReLU - FC(hidden -> n); heads share nothing but the input.
    """

    def __init__(self, in_features: int, heads: Mapping[str, int], hidden: int | None = None) -> None:
        super().__init__()
        if not heads:
            raise ValueError("MultiHead needs at least one head")
        for name, n in heads.items():
            if not name.isidentifier():
                raise ValueError(f"head name must be a Python identifier, got {name!r}")
            if n < 1:
                raise ValueError(f"head {name!r} needs at least one output, got {n}")
        self.in_features = in_features
        self.head_sizes = dict(heads)
        self.heads = nn.ModuleDict(
            {
                name: nn.Linear(in_features, n)
                if hidden is None
                else nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, n))
                for name, n in heads.items()
            }
        )

    def forward(self, features: Tensor) -> dict[str, Tensor]:
        return {name: head(features) for name, head in self.heads.items()}


class V3SHead(MultiHead):
    """V3S's two FC classifiers: ``"spatial"`` (SS/SP classes) and ``"temporal"`` (TS/TP classes).

    A family with no transformation enabled (e.g. the SS-only ablation) is
    passed as None and gets no head.
    """

    def __init__(self, in_features: int, spatial_classes: int | None, temporal_classes: int | None) -> None:
        heads = {name: n for name, n in (("spatial", spatial_classes), ("temporal", temporal_classes)) if n is not None}
        if not heads:
            raise ValueError("V3SHead needs spatial_classes, temporal_classes or both")
        super().__init__(in_features, heads, hidden=None)


class BackboneWithHead(nn.Module):
    """``head(backbone(x))``; the backbone stays reachable as ``.backbone`` for taps and freezing."""

    def __init__(self, backbone: Backbone, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: Tensor) -> Tensor | dict[str, Tensor]:
        return self.head(self.backbone(x))


class PretextModel(BackboneWithHead):
    """Backbone + pretext head (rotation, angle regression, V3S spatial/temporal)."""


class ClassifierModel(BackboneWithHead):
    """Backbone + action classifier for finetuning."""
