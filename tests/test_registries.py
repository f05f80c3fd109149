"""Registry-wide checks (timm style): every CLI command and every registered pretext, with no hand list."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vssl.cli import COMMANDS, main
from vssl.kernels.pretext import PRETEXTS, build_pretext
from vssl.models import get_model

# Small sizes for pretexts whose paper defaults (V3S: 224 -> 112) would be slow here; nothing else differs.
SMALL = {"v3s": {"frame_size": 24, "crop_size": 16, "out_size": 16}}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_working_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    assert f"usage: vssl {command}" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(PRETEXTS))
def test_every_pretext_gives_labels_in_range_and_a_finite_loss(name: str) -> None:
    """Each pretext with its own head (``head_type``) and loss: targets in range, gradients reach the backbone."""
    from vssl.models import heads as head_types

    pretext = build_pretext(name, **SMALL.get(name, {"crop_size": 16}))
    assert pretext.follows, name
    generator = torch.Generator().manual_seed(0)
    clips = torch.rand(4, 3, pretext.frames_needed(16), 24, 24, generator=generator)
    inputs, targets = pretext.apply(clips, None, generator)
    assert inputs.shape[0] == 4 * pretext.outputs_per_clip
    torch.manual_seed(0)
    backbone = get_model("r3d_10", width=0.125)
    head = getattr(head_types, pretext.head_type)(backbone.out_features, **pretext.head_kwargs(None))
    outputs = head(backbone(inputs))
    outputs = outputs if isinstance(outputs, dict) else {next(iter(pretext.heads)): outputs}
    assert set(targets) == set(pretext.heads) == set(outputs)
    total = torch.zeros(())
    for name_, (kind, size) in pretext.heads.items():
        out, target = outputs[name_], targets[name_]
        assert out.shape[0] * pretext.inputs_per_target == inputs.shape[0], name_
        if kind == "classification":
            assert out.shape[1] == size
            assert target.dtype == torch.int64 and 0 <= int(target.min()) and int(target.max()) < size, name_
            loss = nn.functional.cross_entropy(out, target)
        elif kind == "regression":
            assert target.shape == out.shape and torch.isfinite(target).all(), name_
            loss = nn.functional.l1_loss(out, target)
        else:
            loss, correct = pretext.head_loss(name_, out, target)
            assert 0 <= int(correct) <= out.shape[0]
        assert torch.isfinite(loss), (name, name_)
        total = total + loss
    total.backward()  # every head's loss reaches the backbone
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in backbone.parameters() if p.requires_grad)


def test_pretext_registry_refuses_a_duplicate_name_and_lists_every_pretext(capsys) -> None:
    from vssl.kernels.pretext import RotationPretext, register_pretext

    with pytest.raises(ValueError, match="'vcop' is already registered"):
        register_pretext("vcop")(type("Another", (RotationPretext,), {}))
    assert main(["pretexts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == list(PRETEXTS)
    assert "order (classification 6)" in next(line for line in lines if line.startswith("vcop"))
