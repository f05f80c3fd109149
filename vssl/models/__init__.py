"""Backbones, heads, feature taps and the model registry (imports torch only; torchvision only in tests).

Importing this package registers every backbone: ``c3d``, ``r21d_10``,
``r2plus1d_18``, ``r3d_10``, ``r3d_18``, ``r3d_18_tran``, ``s3d_g``. ``model_table`` (which needs
pandas) lives in `vssl.models.cli` and is loaded on first access.
"""

from __future__ import annotations

from typing import Any

from vssl.models import c3d as _c3d  # noqa: F401  (registers)
from vssl.models import resnet3d as _resnet3d  # noqa: F401  (registers)
from vssl.models import s3d as _s3d  # noqa: F401  (registers)
from vssl.models.base import Backbone, freeze_before, scale_channels
from vssl.models.heads import (
    AngleRegressionHead,
    BackboneWithHead,
    ClassifierModel,
    LinearClassifier,
    MultiHead,
    PretextModel,
    RotationHead,
    V3SHead,
)
from vssl.models.registry import ModelSpec, get_model, list_models, model_spec, register_model
from vssl.models.taps import DEFAULT_TAPS, available_taps, extract_features, first_conv_weight, grad_cam

__all__ = [
    "DEFAULT_TAPS",
    "AngleRegressionHead",
    "Backbone",
    "BackboneWithHead",
    "ClassifierModel",
    "LinearClassifier",
    "ModelSpec",
    "MultiHead",
    "PretextModel",
    "RotationHead",
    "V3SHead",
    "available_taps",
    "extract_features",
    "first_conv_weight",
    "freeze_before",
    "get_model",
    "grad_cam",
    "list_models",
    "model_spec",
    "model_table",
    "register_model",
    "scale_channels",
]


def __getattr__(name: str) -> Any:
    # Lazy so that importing the models layer never pulls in pandas.
    if name == "model_table":
        from vssl.models.cli import model_table

        return model_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
