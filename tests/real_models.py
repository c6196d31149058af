"""The real models in ../shared/models and the inputs each is tested with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.ref.interpreter import random_inputs

# model -> list of input files in ../shared/models/inputs (None: a seeded random input)
SUPPORTED: dict[str, list[str | None]] = {
    "mlperf_vww_mbv1_96_int8": ["mlperf_vww_input0", "mlperf_vww_input1", "derived_vww_person", "derived_vww_no_person"],
    "tflm_person_detect_int8": ["tflm_person", "tflm_no_person"],
    "mlperf_kws_dscnn_int8": ["mlperf_kws_input0"],
    "mlperf_ic_resnet8_int8": ["mlperf_ic_input0", None],
    "mlperf_ic_resnet_large_int8": ["mlperf_ic_input0"],
    "mlperf_ad_autoencoder_int8": ["mlperf_ad_input0"],
    "mlperf_ad_toycar_quant_fullint_micro": [None],
    "mlperf_sww_ref_model": [None],
    "tflm_hello_world_int8": [None],
    "tflm_micro_speech_int8": ["tflm_micro_speech_yes", "tflm_micro_speech_no", "tflm_micro_speech_silence", "tflm_micro_speech_noise"],
    "tflm_xtensa_mobilenet_v2_q_224": [None],
    "tinyengine_mcunet_vww1": [None],
    "tinyengine_person_detection_yolo": [None],
    "tinyengine_mcunetv2_large_224": [None],
    # family signal (begin)
    "tflm_audio_preprocessor_int8": [None],  # one 30 ms int16 frame; speech frames in tests/ref/test_signal.py
    # family signal (end)
    # family svdf (begin)
    "tflm_keyword_scrambled": [None],
    "tflm_keyword_scrambled_8bit": [None],
    # family svdf (end)
    # family lstm (begin)
    "tflm_mnist_lstm_int8": [None],
    "tflm_xtensa_micro_speech_lstm": [None],
    "tflm_dtln_noise_suppression": [None],
    # family lstm (end)
}

# model -> words the error message must contain
UNSUPPORTED: dict[str, list[str]] = {
    "tflm_person_detect_vela": ["ethos-u"],
}


def make_input(models: Path, g, name: str | None, seed: int = 0) -> list[np.ndarray]:
    """The named input file, or seeded random data of the graph's input shape and dtype."""
    if name is not None:
        return [np.load(models / "inputs" / f"{name}.npy")]
    return random_inputs(g, seed)


def reference_output(models: Path, model: str, name: str | None) -> np.ndarray | None:
    if name is None:
        return None
    p = models / "reference_outputs" / f"{model}__{name}.tflm.npy"
    return np.load(p) if p.is_file() else None
