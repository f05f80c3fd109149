"""`vssl.train.sgd.SGD` is held to `torch.optim.SGD`: same parameters and state, bit for bit."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

from vssl.train.sgd import SGD

SETTINGS = [
    dict(momentum=0.9, weight_decay=5e-4, nesterov=False),
    dict(momentum=0.9, weight_decay=1e-3, nesterov=True),
    dict(momentum=0.0, weight_decay=0.0, nesterov=False),
    dict(momentum=0.5, weight_decay=0.0, nesterov=False),
]


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv3d(3, 4, 3), nn.BatchNorm3d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(5))


def _train(model: nn.Module, optimizer, steps: int, lrs: list[float], seed: int = 1) -> None:
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lrs[step % len(lrs)]
        x = torch.randn(2, 3, 5, 6, 6, generator=gen)
        y = torch.randint(0, 5, (2,), generator=gen)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def _pair(settings: dict, device: str = "cpu"):
    ours, theirs = _model().to(device), _model().to(device)
    ours(torch.zeros(1, 3, 5, 6, 6, device=device)), theirs(torch.zeros(1, 3, 5, 6, 6, device=device))
    theirs.load_state_dict(ours.state_dict())
    return (
        ours,
        SGD(ours.parameters(), lr=0.1, **settings),
        theirs,
        torch.optim.SGD(theirs.parameters(), lr=0.1, **settings),
    )


def _assert_same(a: nn.Module, b: nn.Module) -> None:
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


@pytest.mark.parametrize("settings", SETTINGS)
def test_steps_equal_torch_sgd_bit_for_bit(settings: dict) -> None:
    ours, opt, theirs, ref = _pair(settings)
    _train(ours, opt, 6, [0.1, 0.05, 0.02])
    _train(theirs, ref, 6, [0.1, 0.05, 0.02])
    _assert_same(ours, theirs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("settings", SETTINGS[:2])
def test_foreach_steps_equal_torch_sgd_on_cuda(settings: dict) -> None:
    ours, opt, theirs, ref = _pair(settings, "cuda")
    _train(ours, opt, 4, [0.1, 0.05])
    _train(theirs, ref, 4, [0.1, 0.05])
    for (name, x), (_, y) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7, msg=name)


def test_state_dict_has_torch_layout_and_resumes_across_both() -> None:
    settings = SETTINGS[1]
    ours, opt, theirs, ref = _pair(settings)
    _train(ours, opt, 3, [0.1])
    _train(theirs, ref, 3, [0.1])
    mine, torchs = opt.state_dict(), ref.state_dict()
    assert mine["param_groups"] == torchs["param_groups"]
    assert mine["state"].keys() == torchs["state"].keys()
    for i in torchs["state"]:
        assert torch.equal(mine["state"][i]["momentum_buffer"], torchs["state"][i]["momentum_buffer"])

    # A checkpoint written by torch's optimizer resumes in ours, and the reverse, with no step lost.
    resumed_ours, resumed_theirs = copy.deepcopy(theirs), copy.deepcopy(ours)
    a = SGD(resumed_ours.parameters(), lr=0.1, **settings)
    a.load_state_dict(copy.deepcopy(torchs))
    b = torch.optim.SGD(resumed_theirs.parameters(), lr=0.1, **settings)
    b.load_state_dict(copy.deepcopy(mine))
    for model, optimizer in [(resumed_ours, a), (resumed_theirs, b), (theirs, ref)]:
        _train(model, optimizer, 3, [0.05], seed=2)
    _assert_same(resumed_ours, theirs)
    _assert_same(resumed_theirs, theirs)


def test_a_mismatched_state_is_refused() -> None:
    _, opt, _, _ = _pair(SETTINGS[0])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0]}]})


def test_a_training_step_does_not_import_the_compiler_stack() -> None:
    """The reason this class exists: torch.optim's first step imports torch._dynamo (seconds per process)."""
    code = (
        "import sys, torch\nfrom torch import nn\nfrom vssl.train.sgd import SGD\n"
        "m = nn.Linear(3, 2); o = SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)\n"
        "m(torch.randn(4, 3)).sum().backward(); o.step(); o.zero_grad(); o.state_dict()\n"
        "print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
