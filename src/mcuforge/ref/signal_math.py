"""The scalar integer functions of TF-Lite Micro's signal library (signal/src): most
significant bit, the bitwise square roots, the fixed-point natural log, PCAN's gain
curve and shrink. Pure Python ints, one value at a time, so every wrap and shift is
the C's; the vector kernels in ref/signal.py call them per channel (40 a frame).
"""

from __future__ import annotations

M32 = 0xFFFFFFFF

# signal/src/log.cc: log2(1 + f) - f on 128 segments of [0, 1), in 1/65536 (129 entries + guard).
LOG_LUT = (
    0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944, 3087,
    3224, 3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791, 4864,
    4934, 5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557, 5578, 5595,
    5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633, 5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470,
    5439, 5406, 5370, 5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630,
    4561, 4490, 4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286, 3186,
    3084, 2981, 2875, 2768, 2659, 2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224,
    1094, 963, 830, 695, 559, 421, 282, 142, 0, 0,
)  # fmt: skip
LOG_SCALE_LOG2 = 16
LOG_SEGMENTS_LOG2 = 7
LOG_COEFF = 45426  # ln(2) in 1/65536
PCAN_SNR_BITS = 12
PCAN_OUTPUT_BITS = 6


def i32(x: int) -> int:
    x &= M32
    return x - (1 << 32) if x >> 31 else x


def i16(x: int) -> int:
    x &= 0xFFFF
    return x - (1 << 16) if x >> 15 else x


def msb32(x: int) -> int:
    """MostSignificantBit32 as TF-Lite Micro builds it (GCC: 32 - clz), which gives 32 for 0."""
    x &= M32
    return x.bit_length() if x else 32


def msb64(x: int) -> int:
    x &= (1 << 64) - 1
    return x.bit_length() if x else 64


def _isqrt_bits(num: int, top: int, msb: int, cap: int) -> int:
    """The bit-by-bit square root of Sqrt32 / Sqrt64 (top = 31 or 63), rounded up when the
    remainder exceeds the root and the root is below cap."""
    res = 0
    max_bit_number = (top + 1 - msb) | 1
    bit = 1 << (top - max_bit_number)
    for _ in range((top - max_bit_number) // 2 + 1):
        if num >= res + bit:
            num -= res + bit
            res = (res >> 1) + bit
        else:
            res >>= 1
        bit >>= 2
    if num > res and res != cap:
        res += 1
    return res


def sqrt32(num: int) -> int:
    return 0 if num == 0 else _isqrt_bits(num, 31, msb32(num), 0xFFFF) & 0xFFFF


def sqrt64(num: int) -> int:
    """Sqrt64: Sqrt32 when the upper word is clear (its shortcut, off by one near 2^32)."""
    if num >> 32 == 0:
        return sqrt32(num)
    return _isqrt_bits(num, 63, msb64(num), M32) & M32


def log32(x: int, out_scale: int) -> int:
    """Log32: round(out_scale * ln(x)) in fixed point, x > 1 (uint32 arithmetic)."""
    integer = msb32(x) - 1
    frac = i32(x - (1 << integer))
    if integer < LOG_SCALE_LOG2:
        frac = i32(frac << (LOG_SCALE_LOG2 - integer))
    else:
        frac >>= integer - LOG_SCALE_LOG2
    base_seg = frac >> (LOG_SCALE_LOG2 - LOG_SEGMENTS_LOG2)
    c0, c1 = LOG_LUT[base_seg], LOG_LUT[base_seg + 1]
    seg_base = ((1 << LOG_SCALE_LOG2) >> LOG_SEGMENTS_LOG2) * base_seg
    rel_pos = i32((c1 - c0) * (frac - seg_base)) >> LOG_SCALE_LOG2
    fraction = (frac + c0 + rel_pos) & M32
    log2 = ((integer << LOG_SCALE_LOG2) + fraction) & M32
    rnd = 1 << (LOG_SCALE_LOG2 - 1)
    loge = ((LOG_COEFF * log2 + rnd) >> LOG_SCALE_LOG2) & M32
    return (((out_scale & M32) * loge + rnd) & M32) >> LOG_SCALE_LOG2  # uint32 product and sum wrap


def wide_dynamic_function(x: int, lut) -> int:
    """PCAN's gain curve: lut[x] for x <= 2, else a quadratic in the 10 bits below x's top
    bit from the 4 entries of its octave (int32 arithmetic, int16 result)."""
    if x <= 2:
        return int(lut[x])
    interval = msb32(x)
    base = 4 * interval - 6
    frac = ((x << (11 - interval)) if interval < 11 else (x >> (interval - 11))) & 0x3FF
    result = (int(lut[base + 2]) * frac) >> 5
    result = i32(result + i32((int(lut[base + 1]) & M32) << 5))
    result = i32(result * frac)
    result = i32(result + (1 << 14)) >> 15
    return i16(result + int(lut[base]))


def pcan_shrink(x: int) -> int:
    """x^2 / 4 below 2 (in Q12), x - 1 above; the result in Q6."""
    if x < (2 << PCAN_SNR_BITS):
        return ((x * x) & M32) >> (2 + 2 * PCAN_SNR_BITS - PCAN_OUTPUT_BITS)
    return ((x >> (PCAN_SNR_BITS - PCAN_OUTPUT_BITS)) - (1 << PCAN_OUTPUT_BITS)) & M32
