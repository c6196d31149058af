"""Attributes of TF-Lite Micro's signal-library custom operators (family signal).

Each field is one key of the operator's flexbuffer map, named as the TensorFlow op's
attribute; TF-Lite Micro reads the map's values by position in key order
(FlexbufferWrapper::ElementAsInt32(i)), which a map written with the same keys keeps.
`state_input` fields are mcuforge's own (not in the file): true when the reader gave the
node its hidden state as an extra variable-tensor input (frontend/signal_options.py), which
the writer drops again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignalWindowAttrs:
    shift: int = 0  # (x * w) >> shift


@dataclass(frozen=True)
class SignalRfftAttrs:
    fft_length: int = 512
    T: int = 7  # the TensorFlow type attribute (TensorType INT16 = 7); int16 is the one supported


@dataclass(frozen=True)
class SignalEnergyAttrs:
    start_index: int = 0  # bins [start_index, end_index) are written
    end_index: int = 0


@dataclass(frozen=True)
class SignalFilterBankAttrs:
    num_channels: int = 0


@dataclass(frozen=True)
class SignalSpectralSubtractionAttrs:
    num_channels: int = 0
    smoothing: int = 0  # in 1 / 2^spectral_subtraction_bits
    one_minus_smoothing: int = 0
    alternate_smoothing: int = 0  # odd channels
    alternate_one_minus_smoothing: int = 0
    smoothing_bits: int = 0  # extra fractional bits of the noise estimate
    min_signal_remaining: int = 0
    clamping: bool = False
    spectral_subtraction_bits: int = 14
    state_input: bool = False  # input 1: the noise estimate, uint32 [num_channels]


@dataclass(frozen=True)
class SignalPcanAttrs:
    snr_shift: int = 0


@dataclass(frozen=True)
class SignalFilterBankLogAttrs:
    input_correction_bits: int = 0
    output_scale: int = 0


# The framer / stacker / delay / overlap-add family (each keeps state between invocations).
@dataclass(frozen=True)
class SignalFramerAttrs:
    frame_size: int = 0
    frame_step: int = 1
    prefill: bool = False  # start with frame_size - frame_step zeros buffered
    state_input: bool = False  # input 1: the queues, int16 [rows, frame_size + frame_step + 2]


@dataclass(frozen=True)
class SignalStackerAttrs:
    num_channels: int = 0
    stacker_left_context: int = 0
    stacker_right_context: int = 0
    stacker_step: int = 1
    state_input: bool = False  # input 1: the queue, int16 [(left + right + 1 + left + 1) * channels + 4]


@dataclass(frozen=True)
class SignalDelayAttrs:
    delay_length: int = 0
    state_input: bool = False  # input 1: the delayed samples, int16 [rows, delay_length]


@dataclass(frozen=True)
class SignalOverlapAddAttrs:
    frame_step: int = 1
    T: int = 7  # TensorType INT16; int16 is the one supported
    state_input: bool = False  # input 1: the accumulator, int16 [rows, frame_size]
