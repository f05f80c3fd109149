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
    pretext = build_pretext(name, **SMALL.get(name, {"crop_size": 16}))
    generator = torch.Generator().manual_seed(0)
    clips = torch.rand(4, 3, pretext.frames_needed(16), 24, 24, generator=generator)
    inputs, targets = pretext.apply(clips, None, generator)
    torch.manual_seed(0)
    backbone = get_model("r3d_10", width=0.125)
    features = backbone(inputs)
    assert set(targets) == set(pretext.heads)
    total = torch.zeros(())
    for head, (kind, size) in pretext.heads.items():
        out = nn.Linear(backbone.out_features, size)(features)
        target = targets[head]
        if kind == "classification":
            assert target.dtype == torch.int64 and 0 <= int(target.min()) and int(target.max()) < size, head
            loss = nn.functional.cross_entropy(out, target)
        else:
            assert target.shape == out.shape and torch.isfinite(target).all(), head
            loss = nn.functional.l1_loss(out, target)
        assert torch.isfinite(loss), (name, head)
        total = total + loss
    total.backward()  # every head's loss reaches the backbone
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in backbone.parameters() if p.requires_grad)
