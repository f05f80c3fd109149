"""SGD with momentum, weight decay and Nesterov, step for step `torch.optim.SGD`'s update.

Why not `torch.optim.SGD`: every `torch.optim.Optimizer.step` imports `torch._dynamo` on its
first call (``_use_grad_for_differentiable``), and that import costs 2-5 s on the 2-core machine,
as much as ``import torch`` itself, in each of the hundreds of training processes the workflow
starts. This class does the same arithmetic in the same order (the per-tensor path on the CPU,
the foreach path elsewhere, as torch picks them), reads and writes torch's state-dict layout so
checkpoints resume across both, and `tests/train/test_sgd.py` holds it to torch's parameters and
state bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

# torch.optim.SGD's param-group keys, so a state dict loads into either implementation.
_TORCH_GROUP_DEFAULTS = {"dampening": 0, "maximize": False, "foreach": None, "differentiable": False, "fused": None}


class SGD:
    """The subset of `torch.optim.SGD` the training loop uses: one or more param groups, float lr."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        *,
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD needs lr, momentum and weight_decay >= 0 (got {lr}, {momentum}, {weight_decay})")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum")
        self.defaults = {
            "lr": lr,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            **_TORCH_GROUP_DEFAULTS,
        }
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        self.param_groups: list[dict[str, Any]] = [{**self.defaults, **g, "params": list(g["params"])} for g in groups]
        self.state: dict[Tensor, dict[str, Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().requires_grad_(False)
                    p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if params[0].device.type == "cpu":
                self._step_per_tensor(group, params)
            else:
                self._step_foreach(group, params)

    def _step_per_tensor(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        for p in params:
            grad = p.grad
            if decay != 0:
                grad = grad.add(p, alpha=decay)
            if momentum != 0:
                buf = self.state.setdefault(p, {}).get("momentum_buffer")
                if buf is None:
                    buf = self.state[p]["momentum_buffer"] = grad.detach().clone()
                else:
                    buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
                grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
            p.add_(grad, alpha=-lr)

    def _step_foreach(self, group: dict[str, Any], params: list[Tensor]) -> None:
        # Same arithmetic as the per-tensor path, a few kernel launches per step instead of four per tensor.
        lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        grads = [p.grad for p in params]
        if decay != 0:
            grads = torch._foreach_add(grads, params, alpha=decay)
        if momentum != 0:
            bufs = [self.state.setdefault(p, {}).get("momentum_buffer") for p in params]
            if all(b is not None for b in bufs):
                torch._foreach_mul_(bufs, momentum)
                torch._foreach_add_(bufs, grads, alpha=1 - group["dampening"])
            else:
                for i, (p, g) in enumerate(zip(params, grads)):
                    if bufs[i] is None:
                        bufs[i] = self.state[p]["momentum_buffer"] = g.detach().clone()
                    else:
                        bufs[i].mul_(momentum).add_(g, alpha=1 - group["dampening"])
            if group["nesterov"]:
                torch._foreach_add_(grads, bufs, alpha=momentum)
            else:
                grads = bufs
        torch._foreach_add_(params, grads, alpha=-lr)

    # ---- torch's layout: state keyed by the parameter's index over all groups

    def state_dict(self) -> dict[str, Any]:
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        params = [p for group in self.param_groups for p in group["params"]]
        state = {index[id(p)]: dict(self.state[p]) for p in params if p in self.state}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups) or any(
            len(s["params"]) != len(g["params"]) for s, g in zip(saved, self.param_groups)
        ):
            raise ValueError("the optimizer state does not match this model's parameter groups")
        self.state = {}
        for group, saved_group in zip(self.param_groups, saved):
            group.update({k: v for k, v in saved_group.items() if k != "params"})
            for p, i in zip(group["params"], saved_group["params"]):
                entry = state_dict["state"].get(i)
                if entry and entry.get("momentum_buffer") is not None:
                    self.state[p] = {"momentum_buffer": entry["momentum_buffer"].to(p.device, p.dtype)}
