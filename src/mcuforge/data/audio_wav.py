"""WAV files in and out, with the standard library's `wave` module.

`read_wav` accepts integer PCM of 8 (unsigned, offset 128), 16, 24 or 32 bits, any
number of channels, and returns mono int16 at the file's own rate: channels are
averaged, then every width is brought to 16 bits by an arithmetic shift (8-bit:
(u - 128) << 8; 24-bit: >> 8; 32-bit: >> 16), which truncates towards minus infinity
like a fixed-point front end would. WAVE_FORMAT_EXTENSIBLE headers (which `wave`
refuses before Python 3.12, and which most tools write for 24- and 32-bit files) are
read when their sub-format is integer PCM. Float WAVs and compressed formats are
refused with a sentence saying to convert them.
"""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import numpy as np

from mcuforge.errors import DataError

PCM = 1
EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM's GUID after its first two bytes (which hold the format tag, 1)
PCM_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def to_int16_mono(raw: bytes, width: int, channels: int) -> np.ndarray:
    """Interleaved little-endian PCM frames -> mono int16 (see the module docstring)."""
    frames = len(raw) // (width * channels)
    raw = raw[: frames * width * channels]
    if width == 1:
        x = np.frombuffer(raw, np.uint8).astype(np.int32) - 128 << 8
    elif width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.int32)
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        x = (b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16) << 8 >> 16  # sign-extend 24 bits, keep the top 16
    elif width == 4:
        x = (np.frombuffer(raw, "<i4") >> 16).astype(np.int32)
    else:
        raise ValueError(width)
    x = x.reshape(frames, channels)
    if channels > 1:
        x = np.floor_divide(x.sum(axis=1), channels)  # the mean, rounded down (int16 range kept)
    return x.reshape(frames).astype(np.int16)


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """The chunks of a RIFF/WAVE file (the first of each id; a truncated last chunk kept)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    out: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        out.setdefault(cid, data[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size & 1)
    return out


def _read_extensible(data: bytes) -> tuple[np.ndarray, int]:
    chunks = _chunks(data)
    fmt = chunks.get(b"fmt ", b"")
    if len(fmt) < 40 or b"data" not in chunks:
        raise ValueError("a WAVE_FORMAT_EXTENSIBLE header without a full fmt or data chunk")
    channels, rate, _, _, bits = struct.unpack("<HIIHH", fmt[2:16])
    if fmt[26:40] != PCM_GUID_TAIL or struct.unpack("<H", fmt[24:26])[0] != PCM:
        raise ValueError("not integer PCM (float or compressed samples)")
    width = (bits + 7) // 8
    if width not in (1, 2, 3, 4) or channels < 1:
        raise ValueError(f"{bits}-bit samples in {channels} channels")
    return to_int16_mono(chunks[b"data"], width, channels), rate


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(mono int16 samples, sample rate) of the bytes of a WAV file; ValueError or
    wave.Error (with the reason) when they are not integer PCM WAV."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except wave.Error as e:
        if f"unknown format: {EXTENSIBLE}" in str(e):
            return _read_extensible(data)
        raise
    if width not in (1, 2, 3, 4):
        raise ValueError(f"{8 * width}-bit samples")
    return to_int16_mono(raw, width, channels), rate


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(mono int16 samples, sample rate) of a WAV file; DataError naming the file when it
    cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise DataError(f"cannot read WAV file {path} ({e.strerror or e})") from None
    try:
        x, rate = decode_wav(data)
    except (wave.Error, ValueError, EOFError, struct.error) as e:
        why = str(e) or "it ends before its header does"
        raise DataError(f"cannot read WAV file {path} ({why}); convert it to 16-bit PCM WAV") from None
    if rate <= 0:
        raise DataError(f"WAV file {path} declares a sample rate of {rate} Hz; convert it to 16-bit PCM WAV")
    return x, rate


def encode_wav(samples: np.ndarray, rate: int) -> bytes:
    """The bytes of a mono 16-bit PCM WAV file."""
    x = np.asarray(samples)
    if x.dtype != np.int16 or x.ndim != 1:
        raise ValueError("encode_wav takes a 1-D int16 array")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(x.astype("<i2").tobytes())
    return buf.getvalue()
