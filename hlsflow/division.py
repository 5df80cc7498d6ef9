"""Division by a window count without a divider: one multiplication by a
constant reciprocal and comparisons of the bits below the shift.

Average pooling and the Average merge divide an exact sum by a count from a
small set known when the project is generated (the unpadded positions of a
window). nnet::divide computes the quotient rounded half to even to the output
type's fractional bits as follows, for the magnitude n < 2^B of the sum's raw
integer (B = the accumulator's width; the sign is put back at the end, as
rounding half to even is symmetric):

    numerator N = n * 2^U, divisor D = c * 2^V     (U, V: the fractional bits
                                                    the output gains or loses)
    p = n * M_c,  q = p >> S,  L = p mod 2^S       (M_c = ceil(2^K / c), S = K + V - U)
    round up iff L >= T_c, or D is even and L >= 2^(S-1) and q is odd

Why it is exact (the Granlund-Montgomery argument): with e = M_c * c - 2^K,
0 <= e < c, p / 2^S = N / D + eps where eps = N * e / (D * 2^K). K is chosen
so that N * e < 2^K for every N < 2^(B+U) and every count c <= c_max
(K = B + U + bits(c_max)), hence 0 <= eps < 1/D. The exact quotient N / D
has a fractional part r / D with r in 0..D-1, so q = floor(N / D) and
L / 2^S lies in [r / D, (r + 1) / D): r > D/2 iff L >= T_c =
ceil((floor(D/2) + 1) * 2^S / D), and r = D/2 (a tie, D even) iff
2^(S-1) <= L < T_c. tests/test_division.py checks the constants against
exact division over every numerator of small sums and at the ends of wide ones.
"""
from __future__ import annotations

from hlsflow.errors import OptionError
from hlsflow.fixed import FixedType

CONSTANT_BITS = 64  # reciprocals and thresholds are written as unsigned long long literals


def divider(counts, acc_t: FixedType, y_t: FixedType, where: str) -> dict:
    """The constants of nnet::divide for sums of type acc_t divided by each of
    `counts`, rounded half to even to the fractional bits of y_t, whatever y_t's
    own rounding mode (QKeras's quantizers round half to even; a type stated for
    a float model gets the nearest value, as float Keras computes it)."""
    counts = sorted({int(c) for c in counts})
    f, g = acc_t.fractional, y_t.fractional
    up, down = max(g - f, 0), max(f - g, 0)
    k = acc_t.width + up + counts[-1].bit_length()
    shift = k + down - up
    rows = []
    for c in counts:
        d = c << down
        rows.append({"count": c, "reciprocal": -(-(1 << k) // c), "round_up": -(-((d // 2 + 1) << shift) // d),
                     "even": d % 2 == 0})
    width = max(r["reciprocal"] for r in rows).bit_length()
    if width > CONSTANT_BITS or shift + 1 > CONSTANT_BITS:
        raise OptionError(f"{where}: dividing its {acc_t.width}-bit sum needs {max(width, shift + 1)}-bit constants; "
                          f"hlsflow writes at most {CONSTANT_BITS}")
    return {"counts": rows, "width": width, "shift": shift}
