"""Accuracy of the float, fake-quantised and int8 networks on a split.

The float and fake-quantised networks run in PyTorch; the int8 one is the exported
graph on the reference executor (the project's oracle, bit-exact with TF-Lite Micro),
batched, so the int8 figure is that of the .tflite file itself.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mcuforge.data import Split
from mcuforge.data.convention import InputConvention
from mcuforge.ir.graph import Graph
from mcuforge.train.batches import Batches
from mcuforge.train.loop import accuracy


def torch_accuracy(model: nn.Module, split: Split, convention: InputConvention, device: torch.device, batch_size: int = 500) -> float | None:
    if len(split) == 0:
        return None
    return accuracy(model, Batches(split, convention, batch_size, device=device))


def int8_predictions(g: Graph, split: Split, convention: InputConvention, progress: bool = False) -> np.ndarray:
    """Class index (first maximum) of every image of `split` by the int8 graph."""
    from mcuforge.validate.backends import run_ref

    outputs = run_ref(g, convention.to_int8(split.images), progress=progress)
    return outputs.reshape(len(split), -1).argmax(axis=1)


def int8_accuracy(g: Graph, split: Split, convention: InputConvention, progress: bool = False) -> float | None:
    if len(split) == 0:
        return None
    return float((int8_predictions(g, split, convention, progress) == split.labels).mean())
