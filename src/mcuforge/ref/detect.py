"""Reference kernel of mcuforge's detection step (the arithmetic lives in apps/yolo.py and apps/ssd.py)."""

from __future__ import annotations

from mcuforge.apps.ssd import eval_detection_postprocess
from mcuforge.apps.yolo import eval_yolo_detect
from mcuforge.ir.ops import Op

KERNELS = {Op.MF_YOLO_DETECT: eval_yolo_detect, Op.DETECTION_POSTPROCESS: eval_detection_postprocess}
