"""Pretext transforms, frame-index samplers and batched augmentation (imports torch only).

Pure functions of tensors and a ``torch.Generator``; they run on CPU and CUDA
alike and draw random parameters per clip. Modules:

- `temporal`: TS/TP frame indices for the loader, `TemporalLabelSpace`, and the
  in-memory gather path;
- `geometry`: the paper's homography solver and the batched perspective warp;
- `spatial`: V3S spatial scale/projection and `SpatialLabelSpace`;
- `rotation`: 3DRotNet right-angle, 45-degree and continuous rotations;
- `augment`: uint8 -> float, crops, flips, resize, DIF;
- `pretext`: `build_pretext` and the `Pretext` objects the training loop uses.
"""
from __future__ import annotations

from vssl.kernels.augment import (
    KINETICS_MEAN,
    KINETICS_STD,
    MODALITIES,
    apply_modality,
    center_crop,
    crop,
    crop_index,
    dif_frames_needed,
    frame_difference,
    frames_for_modality,
    gather_pixels,
    horizontal_flip,
    random_crop,
    random_crop_flip,
    random_crop_params,
    random_horizontal_flip,
    resize,
    to_float,
    to_uint8,
)
from vssl.kernels.geometry import (
    apply_homography,
    crop_resize_matrix,
    frame_corners,
    inscribed_square_side,
    is_pixel_major,
    rotation_matrix,
    solve_homography,
    to_pixel_major,
    warp_inverse,
    warp_perspective,
)
from vssl.kernels.pretext import (
    PRETEXTS,
    Pretext,
    Rotation8Pretext,
    Rotation360Pretext,
    RotationPretext,
    V3SPretext,
    build_pretext,
)
from vssl.kernels.rotation import (
    ANGLE_ENCODINGS,
    EIGHT_ANGLES,
    RIGHT_ANGLES,
    TABLE3_SUBSETS,
    angle_from_target,
    angle_target,
    random_rotate90,
    rot90_index,
    rotate,
    rotate90,
    rotate90_all_copies,
    rotation_warp_matrix,
)
from vssl.kernels.spatial import (
    DEFAULT_SP_FACTORS,
    DEFAULT_SS_SCALES,
    SIDES,
    SpatialChoice,
    SpatialLabelSpace,
    crop_windows,
    quad_targets,
    random_v3s_spatial,
    spatial_matrix,
    v3s_spatial,
)
from vssl.kernels.temporal import (
    DEFAULT_TP_PATTERNS,
    DEFAULT_TS_SPEEDS,
    TemporalChoice,
    TemporalLabelSpace,
    clamp_indices,
    interval_indices,
    interval_span,
    random_start,
    random_temporal,
    temporal_gather,
    two_stage_indices,
    two_stage_span,
)

__all__ = [
    "ANGLE_ENCODINGS", "DEFAULT_SP_FACTORS", "DEFAULT_SS_SCALES", "DEFAULT_TP_PATTERNS", "DEFAULT_TS_SPEEDS",
    "EIGHT_ANGLES", "KINETICS_MEAN", "KINETICS_STD", "MODALITIES", "PRETEXTS", "RIGHT_ANGLES", "SIDES",
    "TABLE3_SUBSETS", "Pretext", "Rotation360Pretext", "Rotation8Pretext", "RotationPretext", "SpatialChoice",
    "SpatialLabelSpace", "TemporalChoice", "TemporalLabelSpace", "V3SPretext", "angle_from_target", "angle_target",
    "apply_homography", "apply_modality", "build_pretext", "center_crop", "clamp_indices", "crop", "crop_index",
    "crop_resize_matrix", "crop_windows", "dif_frames_needed", "frame_corners", "frame_difference",
    "frames_for_modality", "gather_pixels", "horizontal_flip", "inscribed_square_side", "interval_indices",
    "interval_span", "is_pixel_major", "quad_targets", "random_crop", "random_crop_flip", "random_crop_params",
    "random_horizontal_flip", "random_rotate90", "random_start", "random_temporal", "random_v3s_spatial", "resize",
    "rot90_index", "rotate", "rotate90", "rotate90_all_copies", "rotation_matrix", "rotation_warp_matrix",
    "solve_homography", "spatial_matrix", "temporal_gather", "to_float", "to_pixel_major", "to_uint8", "two_stage_indices",
    "two_stage_span", "v3s_spatial", "warp_inverse", "warp_perspective",
]
