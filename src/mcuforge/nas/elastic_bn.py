"""The supernet's batch norm: dynamic (a subnet normalises the first c channels of the
largest layer's statistics) and, under torch.distributed, synchronised across ranks.

Why synchronised: with DDP every rank sees its share of the batch (half of it with 2
processes), and a rank-local batch norm normalises with statistics of that share, so
2 processes train a different function than one process on the whole batch (measured
on the quick preset: random subnets 2.9 points worse). `nn.SyncBatchNorm` runs only on
GPUs; this one all-reduces the per-channel sum, sum of squares and count (one
differentiable all_reduce per call: its backward sums the gradients of every rank's
loss, as SyncBatchNorm's does), so the forward and backward equal one process's on the
concatenated batch up to float rounding. It is on only inside `synchronised(net)`, the
supernet training loop, where every rank runs the same subnet on the same step: scoring
shards different candidates over the ranks and must stay rank-local.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn


class ElasticBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d over the first x.shape[1] channels (views of the parameters and
    running statistics, so training updates exactly those)."""

    synchronised = None  # the process group whose ranks' statistics it uses (set by `synchronised`)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        factor = 0.0
        if self.training:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        if self.training and self.synchronised is not None:
            return self._synchronised(x, c, factor)
        if c == self.num_features:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training, factor, self.eps)
        return F.batch_norm(
            x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c], self.training, factor, self.eps
        )

    def _synchronised(self, x: torch.Tensor, c: int, factor: float) -> torch.Tensor:
        import warnings

        from torch.distributed.nn.functional import all_reduce

        n = torch.tensor([x.numel() // c], dtype=x.dtype, device=x.device)
        local = torch.cat([x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3)), n])
        with warnings.catch_warnings():  # deprecated for _functional_collectives, a private API
            warnings.simplefilter("ignore", FutureWarning)
            total = all_reduce(local, group=self.synchronised)  # sums over ranks, differentiably
        count = total[2 * c]
        mean = total[:c] / count
        var = (total[c : 2 * c] / count - mean * mean).clamp_min(0.0)  # biased, as batch norm normalises
        with torch.no_grad():
            unbiased = var * (count / (count - 1)) if count > 1 else var
            self.running_mean[:c].mul_(1 - factor).add_(mean.detach(), alpha=factor)
            self.running_var[:c].mul_(1 - factor).add_(unbiased, alpha=factor)
        scale = self.weight[:c] * torch.rsqrt(var + self.eps)
        shift = self.bias[:c] - mean * scale
        return x * scale.view(1, c, 1, 1) + shift.view(1, c, 1, 1)


def elastic(module: nn.Module) -> nn.Module:
    """Replace every plain BatchNorm2d under `module` by an ElasticBatchNorm2d with the same
    state (the state-dict keys stay the same)."""
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            bn = ElasticBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            bn.load_state_dict(child.state_dict())
            setattr(module, name, bn.to(child.weight.device))
        else:
            elastic(child)
    return module


@contextmanager
def synchronised(net: nn.Module, on: bool = True) -> Iterator[None]:
    """Batch-norm statistics over all ranks inside the block (when `on` and a process
    group with more than one rank exists)."""
    import torch.distributed as dist

    on = on and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    bns = [m for m in net.modules() if isinstance(m, ElasticBatchNorm2d)] if on else []
    # A group of its own: DDP's gradient all-reduces run asynchronously on the default
    # group while backward runs these, and the two streams must not interleave.
    group = dist.new_group() if on else None
    for m in bns:
        m.synchronised = group
    try:
        yield
    finally:
        for m in bns:
            m.synchronised = None
        if group is not None:
            dist.destroy_process_group(group)
