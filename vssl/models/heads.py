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
* `LinearClassifier`: the finetuning head (3DRotNet: "only one fully
  connected layer of size equals to the number of action classes"), with
  optional dropout before it.
"""
from __future__ import annotations

from collections.abc import Mapping

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
        heads = {
            name: n
            for name, n in (("spatial", spatial_classes), ("temporal", temporal_classes))
            if n is not None
        }
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
