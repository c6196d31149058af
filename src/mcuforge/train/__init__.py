"""Training: seeded batches (batches.py), one training phase with checkpoints (loop.py),
the run folder of `mcuforge train` (config.py, run.py), accuracy (evaluate.py), the
report (report.py) and the command line (cli.py).

`mcuforge.train(arch, data, out, ...)` is train.run.train (see mcuforge/api.py).
"""

from mcuforge.api import make_callable

make_callable(__name__, "mcuforge.train.run:train")
