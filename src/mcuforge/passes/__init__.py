"""Graph -> Graph rewrites, one per file; none changes a single output bit."""

from mcuforge.passes.fold_io import FoldedIO, fold_io
from mcuforge.passes.fold_pad import fold_pad
from mcuforge.passes.fuse_activation import fuse_activation
from mcuforge.passes.inplace_depthwise import inplace_depthwise

# The default pipeline, in order (boundary folding is separate: it changes the API).
PIPELINE = (fold_pad, fuse_activation, inplace_depthwise)

__all__ = ["FoldedIO", "PIPELINE", "fold_io", "fold_pad", "fuse_activation", "inplace_depthwise"]
