"""`mcuforge validate`: accuracy of an int8 classifier on a data set's split with several
backends (reference executor, generated C, TF-Lite Micro, Cortex-M firmware under QEMU),
and whether they agree byte for byte.

    from mcuforge.validate import validate
    result = validate("model.tflite", "fashion-mnist", backends=("ref", "c", "qemu-m7"))
    result.accuracy, result.identical, result.as_dict()

run.py holds `validate` and its result; prepare.py the checks and the input conversion;
backends.py the reference and TF-Lite Micro backends; batch.py the C and QEMU batch
runs; rebatch.py the batched graph; metrics.py the figures; report.py the text and the
confusion-matrix image; cli.py the command line. `mcuforge.validate(...)` is
`validate` too (see mcuforge/api.py).
"""

from mcuforge.api import make_callable
from mcuforge.validate.rebatch import rebatch
from mcuforge.validate.run import ValidationResult, validate

make_callable(__name__, "mcuforge.validate.run:validate")

__all__ = ["ValidationResult", "rebatch", "validate"]
