"""Backbones, heads, taps, freezing, Grad-CAM and the registry (CPU, tiny widths and clips)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vssl.models import (
    AngleRegressionHead,
    Backbone,
    ClassifierModel,
    LinearClassifier,
    MultiHead,
    PretextModel,
    RotationHead,
    V3SHead,
    available_taps,
    extract_features,
    first_conv_weight,
    freeze_before,
    get_model,
    grad_cam,
    list_models,
    model_spec,
    register_model,
)
from vssl.models.registry import unregister_model

EXPECTED_MODELS = ["c3d", "r21d_10", "r2plus1d_18", "r3d_10", "r3d_18", "r3d_18_tran", "s3d_g"]
MODELS = list_models()
WIDTH = 0.125
CLIP = (2, 3, 8, 32, 32)  # B, C, T, H, W


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny convs gain nothing from intra-op threads, and OpenMP spin-waiting
    # slows them several-fold when other processes share the cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _clip(seed: int = 0, shape: tuple[int, ...] = CLIP) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _tiny(name: str, **kwargs) -> Backbone:
    torch.manual_seed(0)
    return get_model(name, width=WIDTH, **kwargs)


def test_registry_lists_the_expected_models() -> None:
    assert MODELS == EXPECTED_MODELS


# small_input only changes the backbones with a stem max-pool.
@pytest.mark.parametrize(
    ("name", "small_input"), [(name, False) for name in MODELS] + [("r3d_18", True), ("s3d_g", True)]
)
def test_forward_backward_every_parameter_gets_a_gradient(name: str, small_input: bool) -> None:
    backbone = _tiny(name, small_input=small_input)
    model = ClassifierModel(backbone, LinearClassifier(backbone.out_features, 5))
    x = _clip()
    features = backbone(x)
    assert features.shape == (CLIP[0], backbone.out_features)
    logits = model(x)
    assert logits.shape == (CLIP[0], 5)
    loss = nn.functional.cross_entropy(logits, torch.tensor([1, 3]))
    assert torch.isfinite(loss)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"{name}: no (finite) gradient for {missing}"
    assert any(p.grad.abs().sum() > 0 for p in backbone.parameters())


@pytest.mark.parametrize("name", MODELS)
def test_stages_are_five_and_cover_every_parameter(name: str) -> None:
    backbone = _tiny(name)
    assert len(backbone.stages) == 5
    staged = {id(p) for _, module in backbone.stages for p in module.parameters()}
    assert staged == {id(p) for p in backbone.parameters()}


def test_small_input_contract_total_stride_8_16_16() -> None:
    x = _clip(shape=(1, 3, 16, 32, 32))
    for name in MODELS:
        with torch.no_grad():
            small = extract_features(_tiny(name, small_input=True).eval(), x, taps=("last_conv",))["last_conv"]
            full = extract_features(_tiny(name).eval(), x, taps=("last_conv",))["last_conv"]
        assert small.shape[2:] == (2, 2, 2), name
        # Only the backbones with a stem max-pool change.
        assert (full.shape != small.shape) == (name in ("r3d_18", "s3d_g")), name


def test_width_scales_channels_with_a_floor() -> None:
    with torch.device("meta"):
        assert get_model("r3d_18").out_features == 512
    assert get_model("r3d_18", width=0.1875).out_features == 96
    assert get_model("s3d_g", width=0.01).out_features == 16  # every branch floored at 4 channels
    with pytest.raises(ValueError, match="width must be positive"):
        get_model("c3d", width=0)


def test_tiny_and_short_clips_pass_every_backbone() -> None:
    # Padded / ceil-mode pools: even a 2-frame 8x8 clip reaches a 1x1x1 map.
    for name in MODELS:
        with torch.no_grad():
            assert _tiny(name).eval()(torch.randn(1, 3, 2, 8, 8)).shape == (1, _tiny(name).out_features), name


def test_backbone_rejects_bad_construction() -> None:
    conv = nn.Sequential(nn.Conv3d(3, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match="unique and not 'pool'"):
        Backbone(
            name="x", stages=[("a", conv), ("a", nn.Identity())], out_features=4, in_channels=3, first_conv_tap="a.1"
        )
    with pytest.raises(ValueError, match="first_conv_tap 'b.1' is not a submodule"):
        Backbone(name="x", stages=[("a", conv)], out_features=4, in_channels=3, first_conv_tap="b.1")


def test_in_channels_and_bad_input_shape() -> None:
    backbone = get_model("r3d_10", width=WIDTH, in_channels=1)
    assert backbone(torch.randn(1, 1, 8, 32, 32)).shape == (1, backbone.out_features)
    with pytest.raises(ValueError, match=r"r3d_10: expected a \(B, 1, T, H, W\)"):
        backbone(torch.randn(1, 3, 8, 32, 32))
    with pytest.raises(ValueError, match="expected"):
        backbone(torch.randn(1, 8, 32, 32))


@pytest.mark.parametrize("name", MODELS)
def test_channels_last_3d_matches_contiguous(name: str) -> None:
    backbone = _tiny(name).eval()
    x = _clip(1)
    with torch.no_grad():
        expected = backbone(x)
        backbone = backbone.to(memory_format=torch.channels_last_3d)
        actual = backbone(x.to(memory_format=torch.channels_last_3d))
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_round_trip_with_weights_only_load(name: str, tmp_path) -> None:
    torch.manual_seed(1)
    source = PretextModel(get_model(name, width=WIDTH), RotationHead(get_model(name, width=WIDTH).out_features))
    # Move BN running statistics away from their init so they are checked too.
    source.train()
    source(_clip(2))
    source.eval()
    path = tmp_path / f"{name}.pt"
    torch.save(source.state_dict(), path)
    torch.manual_seed(2)
    fresh = PretextModel(get_model(name, width=WIDTH), RotationHead(source.backbone.out_features)).eval()
    fresh.load_state_dict(torch.load(path, weights_only=True))
    x = _clip(3)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), source(x), rtol=0, atol=0)


def test_full_width_parameter_counts_near_the_quoted_ones() -> None:
    def millions(name: str) -> float:
        with torch.device("meta"):
            return sum(p.numel() for p in get_model(name).parameters()) / 1e6

    assert millions("r21d_10") == pytest.approx(14.4, abs=0.1)  # VCOP / V3S R(2+1)D
    assert millions("r3d_18") == pytest.approx(33.2, abs=0.3)  # VCOP R3D-18 33.2M, V3S 33.6M
    assert millions("r2plus1d_18") == pytest.approx(31.3, abs=0.05)  # torchvision without fc
    assert millions("s3d_g") == pytest.approx(9.6, abs=0.6)  # V3S 9.6M
    assert millions("c3d") == pytest.approx(27.7, abs=0.1)  # eight convs, no FC


def test_r2plus1d_18_matches_torchvision_parameter_for_parameter() -> None:
    from torchvision.models.video import r2plus1d_18

    with torch.device("meta"):
        ours = get_model("r2plus1d_18")
        reference = r2plus1d_18(weights=None)
    ours_shapes = sorted(tuple(p.shape) for p in ours.parameters())
    reference_shapes = sorted(tuple(p.shape) for n, p in reference.named_parameters() if not n.startswith("fc."))
    assert ours_shapes == reference_shapes


@pytest.mark.parametrize("name", ["r3d_18", "r2plus1d_18"])
def test_torchvision_weights_load_into_ours_and_give_the_same_features(name: str, monkeypatch) -> None:
    """Our blocks (vssl.models.blocks) are torchvision's: its state dict loads and the outputs are equal.

    Bit for bit with the stem as a 3D convolution; to float rounding with the CPU's folded stem.
    """
    import torchvision.models.video as tvv

    import vssl.models.blocks as blocks

    torch.manual_seed(0)
    reference = getattr(tvv, name)(weights=None).eval()
    reference.fc = nn.Identity()
    for m in reference.modules():  # non-trivial BN statistics, so eval-mode BN is really tested
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    ours = get_model({"r3d_18": "r3d_18_tran"}.get(name, name)).eval()
    state = {k.replace("stem.", "conv1.", 1): v for k, v in reference.state_dict().items()}
    ours.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        expected = reference(x)
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-5)
        monkeypatch.setattr(blocks, "FOLD_STEM_ON_CPU", False)
        torch.testing.assert_close(ours(x), expected, rtol=0, atol=0)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    "kernel, stride, padding",
    [
        ((3, 7, 7), (1, 2, 2), (1, 3, 3)),  # Tran stem
        ((7, 7, 7), (1, 2, 2), (3, 3, 3)),  # Hara stem
        ((3, 3, 3), (1, 1, 1), (1, 1, 1)),  # C3D conv1
        ((3, 3, 3), (2, 2, 2), (0, 1, 1)),
        ((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        ((2, 1, 1), (3, 1, 1), (1, 0, 0)),
    ],
)
def test_conv3d_as_conv2d_matches_conv3d_forward_and_backward(kernel, stride, padding, channels_last: bool) -> None:
    """The folded stem (vssl.models.blocks.conv3d_as_conv2d) is held to F.conv3d: output, input and weight grads."""
    from vssl.models.blocks import conv3d_as_conv2d

    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 13, 12)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    weight, bias = torch.randn(5, 3, *kernel), torch.randn(5)
    grads = []
    for conv in (torch.nn.functional.conv3d, conv3d_as_conv2d):
        inputs = [t.detach().clone().requires_grad_() for t in (x, weight, bias)]
        y = conv(inputs[0], inputs[1], inputs[2], stride, padding)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        grads.append([y.detach()] + [t.grad for t in inputs])
    for actual, expected in zip(grads[1], grads[0]):
        assert actual.shape == expected.shape
        # float32 sums of thousands of terms: tolerance relative to the largest value
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))


def test_stem_conv_state_dict_is_a_conv3d_and_cuda_path_is_conv3d() -> None:
    from vssl.models.blocks import StemConv3d

    stem = StemConv3d(3, 4, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
    plain = nn.Conv3d(3, 4, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
    plain.load_state_dict(stem.state_dict(), strict=True)
    x = torch.randn(1, 3, 4, 10, 10)
    torch.testing.assert_close(stem(x), plain(x), rtol=1e-4, atol=1e-5)


def test_s3d_blocks_match_torchvision() -> None:
    from functools import partial

    from torchvision.models.video.s3d import SepInceptionBlock3D, TemporalSeparableConv

    from vssl.models import blocks

    norm = partial(nn.BatchNorm3d, eps=1e-3)
    torch.manual_seed(0)
    pairs = [
        (TemporalSeparableConv(3, 8, 7, 2, 3, norm), blocks.TemporalSeparableConv(3, 8, 7, 2, 3, norm)),
        (SepInceptionBlock3D(8, 4, 6, 8, 2, 4, 4, norm), blocks.SepInceptionBlock3D(8, 4, 6, 8, 2, 4, 4, norm)),
    ]
    for reference, ours in pairs:
        ours.load_state_dict(reference.state_dict(), strict=True)
        x = torch.randn(2, reference[0][0].in_channels if isinstance(reference, nn.Sequential) else 8, 6, 16, 16)
        torch.testing.assert_close(ours.train()(x), reference.train()(x), rtol=0, atol=0)


def test_training_imports_no_torchvision() -> None:
    """`vssl finetune`/`pretrain`/`test` run hundreds of times per workflow: torchvision costs seconds each."""
    import subprocess
    import sys

    code = (
        "import sys, vssl.train.pretrain, vssl.train.finetune, vssl.eval.test, vssl.models, vssl.data.clips, "
        "vssl.data.store, vssl.data.extract; bad = sorted(m for m in sys.modules if m.split('.')[0] == "
        "'torchvision' or m.startswith('torch._dynamo')); print(bad); raise SystemExit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_r3d_18_stem_is_3drotnet_conv1_block() -> None:
    with torch.device("meta"):
        stem = get_model("r3d_18").conv1
        small_stem = get_model("r3d_18", small_input=True).conv1
    conv, bn, relu, pool = stem
    assert (conv.kernel_size, conv.stride) == ((7, 7, 7), (1, 2, 2))
    assert isinstance(bn, nn.BatchNorm3d) and isinstance(relu, nn.ReLU)
    assert isinstance(pool, nn.MaxPool3d) and pool.stride == 2
    assert not any(isinstance(m, nn.MaxPool3d) for m in small_stem)


@pytest.mark.parametrize("n", range(1, 7))
def test_freeze_before_freezes_exactly_the_leading_stages(n: int) -> None:
    backbone = _tiny("r3d_18")
    frozen_names = freeze_before(backbone, n)
    expected = ["conv1", "layer1", "layer2", "layer3", "layer4"][: n - 1]
    assert frozen_names == expected
    for stage_name, module in backbone.stages:
        frozen = stage_name in expected
        assert all(p.requires_grad != frozen for p in module.parameters()), stage_name
        bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm3d)]
        backbone.train()  # a training loop's per-epoch call must not revive frozen BN
        assert all(bn.training != frozen for bn in bns), stage_name


def test_freeze_before_frozen_bn_statistics_do_not_move_and_unfreeze_works() -> None:
    backbone = _tiny("c3d")
    freeze_before(backbone, 3)
    backbone.train()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    loss = backbone(_clip()).sum()
    loss.backward()
    after = backbone.state_dict()
    assert torch.equal(before["conv1.1.running_mean"], after["conv1.1.running_mean"])
    assert torch.equal(before["conv2.1.running_mean"], after["conv2.1.running_mean"])
    assert not torch.equal(before["conv3.1.running_mean"], after["conv3.1.running_mean"])
    assert all(p.grad is None for p in backbone.conv1.parameters())
    assert freeze_before(backbone, 1) == []
    assert all(p.requires_grad for p in backbone.parameters())
    assert backbone.conv1[1].training
    for bad in (0, 7):
        with pytest.raises(ValueError, match="1..6"):
            freeze_before(backbone, bad)


@pytest.mark.parametrize("name", MODELS)
def test_taps_shapes(name: str) -> None:
    backbone = _tiny(name).eval()
    x = _clip()
    with torch.no_grad():
        feats = extract_features(backbone, x, taps=available_taps(backbone))
        pooled = backbone(x)
    conv1 = feats["conv1"]
    assert conv1.ndim == 5 and conv1.shape[0] == 2 and conv1.shape[-1] <= 32
    for tap, stage_index in (("pool3", 2), ("pool4", 3), ("pool5", 4)):
        stage_map = feats[backbone.stage_names[stage_index]]
        assert feats[tap].shape == stage_map.shape[:2]
        torch.testing.assert_close(feats[tap], stage_map.mean(dim=(2, 3, 4)))
    assert feats["last_pool"].shape == (2, backbone.out_features)
    torch.testing.assert_close(feats["last_pool"], pooled)
    torch.testing.assert_close(feats["pool5"], pooled)
    assert feats["last_conv"].ndim == 5 and feats["last_conv"].shape[1] == backbone.out_features


def test_conv1_tap_is_the_first_conv_activation_and_stops_early() -> None:
    backbone = _tiny("r3d_18").eval()
    x = _clip()
    calls: list[str] = []
    backbone.layer4.register_forward_hook(lambda *_: calls.append("layer4"))
    with torch.no_grad():
        tap = extract_features(backbone, x, taps=("conv1",))["conv1"]
        conv, bn, relu = backbone.conv1[:3]
        expected = torch.relu(bn(conv(x)))
    torch.testing.assert_close(tap, expected)
    assert calls == []  # the forward stopped after the stem


def test_unknown_tap_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid taps: conv1, pool3"):
        extract_features(_tiny("c3d"), _clip(), taps=("fc7",))


@pytest.mark.parametrize("name", MODELS)
def test_first_conv_weight(name: str) -> None:
    backbone = _tiny(name)
    weight = first_conv_weight(backbone)
    assert weight.ndim == 5 and weight.shape[1] == 3 and not weight.requires_grad


def test_heads_output_shapes() -> None:
    features = torch.randn(3, 512)
    rotation = RotationHead(512, 4)
    assert [type(m) for m in rotation] == [nn.Linear, nn.ReLU, nn.Linear]
    assert rotation[0].out_features == 64
    assert rotation(features).shape == (3, 4)
    assert AngleRegressionHead(512, 1)(features).shape == (3, 1)
    assert AngleRegressionHead(512, 2)(features).shape == (3, 2)
    classifier = LinearClassifier(512, 101, dropout=0.5)
    assert isinstance(classifier[0], nn.Dropout) and classifier(features).shape == (3, 101)
    assert len(LinearClassifier(512, 101)) == 1
    v3s = V3SHead(512, spatial_classes=6, temporal_classes=3)
    out = v3s(features)
    assert {k: v.shape for k, v in out.items()} == {"spatial": (3, 6), "temporal": (3, 3)}
    assert set(V3SHead(512, None, 8)(features)) == {"temporal"}
    multi = MultiHead(512, {"a": 2, "b": 7}, hidden=32)
    assert {k: v.shape for k, v in multi(features).items()} == {"a": (3, 2), "b": (3, 7)}
    for bad in (lambda: V3SHead(512, None, None), lambda: MultiHead(512, {}), lambda: AngleRegressionHead(512, 3)):
        with pytest.raises(ValueError):
            bad()


def test_pretext_model_with_v3s_head_trains() -> None:
    backbone = _tiny("r21d_10", small_input=True)
    model = PretextModel(backbone, V3SHead(backbone.out_features, 6, 3))
    out = model(_clip())
    loss = nn.functional.cross_entropy(out["spatial"], torch.tensor([0, 5])) + nn.functional.cross_entropy(
        out["temporal"], torch.tensor([2, 1])
    )
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", ["r3d_18", "c3d", "s3d_g"])
def test_grad_cam_is_finite_non_negative_with_the_last_conv_shape(name: str) -> None:
    backbone = _tiny(name)
    model = ClassifierModel(backbone, LinearClassifier(backbone.out_features, 4)).eval()
    x = _clip(4)
    with torch.no_grad():
        last_conv = extract_features(backbone, x, taps=("last_conv",))["last_conv"]
    cam = grad_cam(model, x, target_index=2)
    assert cam.shape == (last_conv.shape[0], *last_conv.shape[2:])
    assert torch.isfinite(cam).all() and (cam >= 0).all()
    per_sample = grad_cam(model, x, target_index=torch.tensor([0, 3]))
    assert per_sample.shape == cam.shape
    assert all(p.grad is None for p in model.parameters())  # no parameter gradients accumulate


def test_grad_cam_matches_a_manual_computation_and_works_frozen() -> None:
    backbone = _tiny("r3d_10")
    model = ClassifierModel(backbone, LinearClassifier(backbone.out_features, 4)).eval()
    x = _clip(5)
    # Manual: gradients of the class-1 score w.r.t. layer4's output.
    feature_map = backbone.forward_features(x).detach().requires_grad_(True)
    score = model.head(backbone.pool(feature_map).flatten(1))[:, 1].sum()
    (grad,) = torch.autograd.grad(score, feature_map)
    expected = torch.relu((grad.mean(dim=(2, 3, 4), keepdim=True) * feature_map.detach()).sum(1))
    freeze_before(backbone, 6)
    for p in model.parameters():
        p.requires_grad_(False)
    torch.testing.assert_close(grad_cam(model, x, 1), expected)


def test_grad_cam_multi_head_needs_a_head_name() -> None:
    backbone = _tiny("r3d_10")
    model = PretextModel(backbone, V3SHead(backbone.out_features, 6, 3)).eval()
    assert grad_cam(model, _clip(), 0, head="temporal").ndim == 4
    with pytest.raises(ValueError, match="pass head="):
        grad_cam(model, _clip(), 0)
    with pytest.raises(ValueError, match="out of range"):
        grad_cam(model, _clip(), 3, head="temporal")


def test_registry_errors() -> None:
    with pytest.raises(ValueError, match="unknown model 'r3d_50'; registered models: c3d, r21d_10"):
        get_model("r3d_50")
    with pytest.raises(ValueError, match="already registered"):
        register_model("r3d_18")(lambda *, width=1.0: get_model("r3d_10", width=width))
    with pytest.raises(TypeError, match="model 'c3d'.*accepted arguments: width, in_channels, small_input"):
        get_model("c3d", depth=5)
    with pytest.raises(TypeError, match="keyword-only"):
        register_model("positional_model")(lambda width: get_model("c3d", width=width))

    @register_model("tmp_test_model", paper_params_m=1.0, paper_source="nowhere")
    def tmp_test_model(*, width: float = 1.0) -> Backbone:
        """A throwaway model."""
        return get_model("r3d_10", width=width)

    try:
        assert "tmp_test_model" in list_models()
        assert model_spec("tmp_test_model").description == "A throwaway model."
        assert isinstance(get_model("tmp_test_model", width=WIDTH), Backbone)
    finally:
        unregister_model("tmp_test_model")
    assert "tmp_test_model" not in list_models()


def test_models_command_prints_and_writes_the_table(tmp_path, capsys) -> None:
    import pandas as pd

    from vssl.cli import main

    csv = tmp_path / "models.csv"
    assert main(["models", "--width", str(WIDTH), "--csv", str(csv)]) == 0
    printed = capsys.readouterr().out
    assert "GMACs (3x16x112x112)" in printed
    assert all(name in printed for name in EXPECTED_MODELS)
    table = pd.read_csv(csv)
    assert list(table["model"]) == EXPECTED_MODELS
    assert (table["width"] == WIDTH).all() and (table["gmacs"] > 0).all()
    with torch.device("meta"):
        expected_params = [sum(p.numel() for p in get_model(n, width=WIDTH).parameters()) for n in EXPECTED_MODELS]
    assert list(table["params"]) == expected_params
    paper = dict(zip(table["model"], table["paper_params_M"]))
    assert paper["r21d_10"] == 14.4 and paper["c3d"] == 58.3 and math.isnan(paper["r3d_10"])


def test_gmacs_of_torchvision_r2plus1d_18() -> None:
    from vssl.models.cli import count_gmacs

    # torchvision documents 40.52 GFLOPS (multiply-adds) for r2plus1d_18 on a 3x16x112x112 clip.
    assert count_gmacs("r2plus1d_18") == pytest.approx(40.52, abs=0.01)


def test_conv5_maxpool_tap_is_vcops_retrieval_feature() -> None:
    """9216-d for R3D-18 (Tran stem) at 16 x 112^2, as VCOP's retrieve_clips.py; the pool is MaxPool3d((1,2,2))."""
    from vssl.models.taps import conv5_maxpool, extract_features

    with torch.device("meta"):
        backbone = get_model("r3d_18_tran").eval()
        feature = extract_features(backbone, torch.empty(1, 3, 16, 112, 112), ("conv5_maxpool",))["conv5_maxpool"]
    assert feature.shape == (1, 9216)
    x = torch.randn(2, 5, 2, 7, 7)
    expected = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))(x).flatten(1)
    torch.testing.assert_close(conv5_maxpool(x), expected, rtol=0, atol=0)
    assert conv5_maxpool(torch.randn(2, 5, 2, 1, 1)).shape == (2, 10)  # toy maps narrower than the pool
