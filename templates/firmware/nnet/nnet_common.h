// hlsflow layer library: element-wise casts and activations (io_parallel).
#ifndef NNET_COMMON_H_
#define NNET_COMMON_H_

#include "ap_fixed.h"
#include "ap_int.h"

namespace nnet {

// y = x cast to out_T: out_T's rounding and overflow modes apply once.
template <class in_T, class out_T, int N>
void cast(const in_T x[N], out_T y[N]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        y[i] = x[i];
    }
}

template <class in_T, class out_T, int N>
void relu(const in_T x[N], out_T y[N]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        y[i] = x[i] > 0 ? x[i] : in_T(0);
    }
}

// total / count rounded once, half to even, to out_T's fractional bits, then
// cast to out_T (only its overflow mode can apply). No divider: DIV holds, for
// each count the node can divide by, a reciprocal M (the quotient of the sum's
// magnitude n is (n * M) >> DIV::shift) and the threshold the bits below the
// shift must reach to round up; hlsflow/division.py derives them and states
// why the result is exact for every sum.
template <class acc_T, class out_T, class DIV>
out_T divide(acc_T total, int count) {
#pragma HLS INLINE
    const int W = acc_T::width, G = out_T::width - out_T::iwidth;
    const int P = W + DIV::width, Q = P - DIV::shift + 1;  // product, quotient (+ rounding carry) bits
    ap_fixed<W + 1, acc_T::iwidth + 1> t = total;
    ap_int<W + 1> raw = t.range(W, 0);
    bool negative = raw < 0;
    ap_uint<W> n = negative ? ap_int<W + 1>(-raw) : raw;
    ap_uint<P> p = n * DIV::reciprocal(count);
    ap_uint<Q> q = p >> DIV::shift;
    ap_uint<DIV::shift> low = p;
    if (low >= DIV::round_up(count) || (DIV::even(count) && low[DIV::shift - 1] && q[0])) q++;
    ap_int<Q + 1> signed_q = negative ? ap_int<Q + 1>(-q) : ap_int<Q + 1>(q);
    ap_fixed<Q + 1, Q + 1 - G> y;
    y.range(Q, 0) = signed_q.range(Q, 0);
    return y;
}

// The divider of a node that never divides (max pooling).
struct no_divider {
    static const int width = 1, shift = 1;
    static ap_uint<1> reciprocal(int) { return 1; }
    static ap_uint<2> round_up(int) { return 2; }
    static bool even(int) { return false; }
};

template <class in_T, class out_T, class alpha_T, int N>
void leaky_relu(const in_T x[N], out_T y[N], alpha_T alpha) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        if (x[i] > 0) {
            y[i] = x[i];
        } else {
            y[i] = alpha * x[i];
        }
    }
}

// PReLU: y = x for x > 0, else alpha * x, alpha repeating with period A (the
// channels, or the whole tensor).
template <class in_T, class out_T, class alpha_T, int N, int A>
void prelu(const in_T x[N], out_T y[N], const alpha_T alpha[A]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        if (x[i] > 0) {
            y[i] = x[i];
        } else {
            y[i] = alpha[i % A] * x[i];
        }
    }
}

// Keras Dot: y[i * J + j] = sum over k of a[i * AI + k * AK] * b[j * BJ + k * BK]
// (the strides place the summed axis of each input first or last). acc_T holds
// every partial sum exactly; the only rounding is the cast to out_T.
template <class a_T, class b_T, class out_T, class acc_T, int I, int J, int K, int AI, int AK, int BJ, int BK>
void dot(const a_T a[I * K], const b_T b[J * K], out_T y[I * J]) {
#pragma HLS INLINE
    for (int i = 0; i < I; i++) {
        for (int j = 0; j < J; j++) {
#pragma HLS UNROLL
            acc_T acc = 0;
            for (int k = 0; k < K; k++) {
#pragma HLS UNROLL
                acc = acc + a[i * AI + k * AK] * b[j * BJ + k * BK];
            }
            y[i * J + j] = acc;
        }
    }
}

// ThresholdedReLU: theta is the largest value of in_T's grid below Keras's
// threshold (precision.py), so the comparison is exact in fixed point.
template <class in_T, class out_T, class theta_T, int N>
void threshold(const in_T x[N], out_T y[N], theta_T theta) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        y[i] = x[i] > theta ? out_T(x[i]) : out_T(0);
    }
}

// y = table[raw bits of x cast to index_T] (x is already of a type index_T holds).
template <class in_T, class out_T, class index_T, int N>
void table(const in_T x[N], out_T y[N], const out_T t[1 << index_T::width]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        index_T v = x[i];
        y[i] = t[v.range(index_T::width - 1, 0).to_uint()];
    }
}

// A monotone step function (a quantized activation, hlsflow/steps.py):
// y = levels[number of thresholds <= x], thresholds ascending. Each input is
// compared with the K - 1 constants at once; a binary search over the
// results (LOG2K steps of a 1-bit selection) finds the level.
template <class in_T, class out_T, int N, int K, int LOG2K>
void step(const in_T x[N], out_T y[N], const in_T thresholds[K - 1], const out_T levels[K]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        bool reached[K];  // reached[j]: x >= thresholds[j - 1]
#pragma HLS ARRAY_PARTITION variable=reached complete
        reached[0] = true;
        for (int j = 1; j < K; j++) {
#pragma HLS UNROLL
            reached[j] = x[i] >= thresholds[j - 1];
        }
        int level = 0;
        for (int s = 0; s < LOG2K; s++) {
#pragma HLS UNROLL
            const int next = level + (1 << (LOG2K - 1 - s));
            if (next < K && reached[next]) level = next;
        }
        y[i] = levels[level];
    }
}

// Per-channel y = x * w + b over the last axis (C channels).
template <class in_T, class out_T, class w_T, class b_T, int N, int C, bool RELU>
void scale_shift(const in_T x[N], out_T y[N], const w_T w[C], const b_T b[C]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        if (RELU && x[i] * w[i % C] + b[i % C] < 0) {
            y[i] = 0;
        } else {
            y[i] = x[i] * w[i % C] + b[i % C];
        }
    }
}

enum merge_op { ADD, SUBTRACT, MULTIPLY, MAXIMUM, MINIMUM };

template <class a_T, class b_T, class out_T, int N, int OP>
void merge(const a_T a[N], const b_T b[N], out_T y[N]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        if (OP == ADD) y[i] = a[i] + b[i];
        if (OP == SUBTRACT) y[i] = a[i] - b[i];
        if (OP == MULTIPLY) y[i] = a[i] * b[i];
        if (OP == MAXIMUM) y[i] = a[i] > b[i] ? out_T(a[i]) : out_T(b[i]);
        if (OP == MINIMUM) y[i] = a[i] < b[i] ? out_T(a[i]) : out_T(b[i]);
    }
}

template <class a_T, class b_T, class out_T, class acc_T, class DIV, int N>
void average(const a_T a[N], const b_T b[N], out_T y[N]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        y[i] = divide<acc_T, out_T, DIV>(acc_T(a[i] + b[i]), 2);
    }
}

// One input of a concatenation: OUTER rows of INNER values, written at column
// OFFSET of output rows TOTAL wide.
template <class in_T, class out_T, int OUTER, int INNER, int OFFSET, int TOTAL>
void concat_part(const in_T x[OUTER * INNER], out_T y[OUTER * TOTAL]) {
#pragma HLS INLINE
    for (int o = 0; o < OUTER; o++) {
        for (int i = 0; i < INNER; i++) {
#pragma HLS UNROLL
            y[o * TOTAL + OFFSET + i] = x[o * INNER + i];
        }
    }
}

// Zero padding (positive pads) and cropping (negative pads) in the (h, w, c) view.
template <class in_T, class out_T, int IH, int IW, int C, int OH, int OW, int PT, int PL>
void pad(const in_T x[IH * IW * C], out_T y[OH * OW * C]) {
#pragma HLS INLINE
    for (int h = 0; h < OH; h++) {
        for (int w = 0; w < OW; w++) {
            for (int k = 0; k < C; k++) {
#pragma HLS UNROLL
                int ih = h - PT, iw = w - PL;
                bool in = ih >= 0 && ih < IH && iw >= 0 && iw < IW;
                y[(h * OW + w) * C + k] = in ? out_T(x[(ih * IW + iw) * C + k]) : out_T(0);
            }
        }
    }
}

// Nearest-neighbour upsampling by FH x FW.
template <class in_T, class out_T, int IH, int IW, int C, int FH, int FW>
void upsample(const in_T x[IH * IW * C], out_T y[IH * FH * IW * FW * C]) {
#pragma HLS INLINE
    for (int h = 0; h < IH * FH; h++) {
        for (int w = 0; w < IW * FW; w++) {
            for (int k = 0; k < C; k++) {
#pragma HLS UNROLL
                y[(h * IW * FW + w) * C + k] = x[((h / FH) * IW + w / FW) * C + k];
            }
        }
    }
}

// Axis permutation of a tensor of rank up to 6, D0 x ... x D5 (leading axes
// of size 1 pad lower ranks): output axis a is input axis Pa. Fully unrolled,
// every index is a constant: the permutation is wiring.
template <class in_T, class out_T, int D0, int D1, int D2, int D3, int D4, int D5, int P0, int P1, int P2, int P3,
          int P4, int P5>
void transpose(const in_T x[D0 * D1 * D2 * D3 * D4 * D5], out_T y[D0 * D1 * D2 * D3 * D4 * D5]) {
#pragma HLS INLINE
    const int dims[6] = {D0, D1, D2, D3, D4, D5};
    const int perm[6] = {P0, P1, P2, P3, P4, P5};
    int strides[6];
    strides[5] = 1;
    for (int s = 0; s < 5; s++) strides[4 - s] = strides[5 - s] * dims[5 - s];
    for (int i = 0; i < D0 * D1 * D2 * D3 * D4 * D5; i++) {
#pragma HLS UNROLL
        int rest = i, source = 0;
        for (int s = 0; s < 6; s++) {  // output axes, innermost first
            const int axis = perm[5 - s];
            source += (rest % dims[axis]) * strides[axis];
            rest /= dims[axis];
        }
        y[i] = x[source];
    }
}

}  // namespace nnet

#endif
