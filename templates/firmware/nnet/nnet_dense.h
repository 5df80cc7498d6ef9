// hlsflow layer library: the kernel of every weighted layer, and the fully
// connected layer built on it.
//
// A kernel multiplies an input vector (a dense layer's input, or the window of
// one output pixel of a convolution) by the weights: G groups, each of K
// inputs and FG outputs (G = 1 except for grouped and depthwise
// convolutions). It is folded by its reuse factor RF = r_in x r_out: clock
// t = ro * r_in + ri multiplies inputs [ri*bi, (ri+1)*bi) of every group by
// outputs [ro*bo, (ro+1)*bo), on `lanes` = G * bi * bo multipliers, each used
// RF times. Every address is a constant once the lane loops are unrolled:
// - the weights are stored in ROM order (hlsflow's writer permutes them): word
//   t holds the `lanes` weights of clock t, lane (g * bi + a) * bo + b, so
//   w[t * lanes + lane] reads lane `lane` of word t (ARRAY_RESHAPE cyclic
//   factor=lanes makes the word one memory row); biases and scales likewise,
//   word ro of G * bo values;
// - the inputs rotate by bi each clock, so lane a always reads kin[g][a];
// - finished outputs shift into place by bo.
// No division or remainder by a run-time value anywhere. With RF = 1 (the
// latency strategy) the weights are constants: zero weights cost nothing and
// the rest become constant-coefficient multipliers.
//
// The accumulator acc_T is wide enough that no partial sum overflows or
// rounds, in any order; the only rounding is the cast of the result to out_T.
// (`acc = acc + x * w` rather than `acc += x * w`: the same arithmetic, and
// g++ instantiates it in half the time.)
#ifndef NNET_DENSE_H_
#define NNET_DENSE_H_

#include "ap_fixed.h"

namespace nnet {

// cast(relu?(acc + b)), or with SCALED cast(relu?(acc * s + b)). (A class
// template specialized on SCALED, so that only the arithmetic in use is compiled.)
template <bool SCALED>
struct affine {
    template <class acc_T, class out_T, class b_T, class s_T, bool RELU>
    static out_T apply(acc_T acc, b_T b, const s_T *, int) {
#pragma HLS INLINE
        acc_T v = acc + b;
        if (RELU && v < 0) v = 0;
        return v;
    }
};

template <>
struct affine<true> {
    template <class acc_T, class out_T, class b_T, class s_T, bool RELU>
    static out_T apply(acc_T acc, b_T b, const s_T *s, int i) {
#pragma HLS INLINE
        if (RELU && acc * s[i] + b < 0) return 0;
        return acc * s[i] + b;
    }
};

// Clock t of the kernel: acc[g][b] = (first ? 0 : acc[g][b]) + sum over a < bi of kin[g][a] * w(t, g, a, b).
template <class in_T, class acc_T, class w_T, class CFG>
void kernel_clock(const in_T kin[CFG::groups * CFG::inputs], acc_T acc[CFG::groups * CFG::bo], const w_T w[], int t,
                  bool first) {
#pragma HLS INLINE
    for (int g = 0; g < CFG::groups; g++) {
#pragma HLS UNROLL
        for (int b = 0; b < CFG::bo; b++) {
#pragma HLS UNROLL
            acc_T sum = first ? acc_T(0) : acc[g * CFG::bo + b];
            for (int a = 0; a < CFG::bi; a++) {
#pragma HLS UNROLL
                const w_T weight = w[t * CFG::lanes + (g * CFG::bi + a) * CFG::bo + b];
                if (CFG::rom || weight != 0) sum = sum + kin[g * CFG::inputs + a] * weight;
            }
            acc[g * CFG::bo + b] = sum;
        }
    }
}

// After a clock: the next clock's inputs move to lanes 0..bi-1 (kin[g][a] <- kin[g][a + bi], cyclically).
template <class in_T, class CFG>
void kernel_rotate(in_T kin[CFG::groups * CFG::inputs]) {
#pragma HLS INLINE
    for (int g = 0; g < CFG::groups; g++) {
#pragma HLS UNROLL
        in_T head[CFG::bi];
#pragma HLS ARRAY_PARTITION variable=head complete
        for (int a = 0; a < CFG::bi; a++) {
#pragma HLS UNROLL
            head[a] = kin[g * CFG::inputs + a];
        }
        for (int a = 0; a < CFG::inputs - CFG::bi; a++) {
#pragma HLS UNROLL
            kin[g * CFG::inputs + a] = kin[g * CFG::inputs + a + CFG::bi];
        }
        for (int a = 0; a < CFG::bi; a++) {
#pragma HLS UNROLL
            kin[g * CFG::inputs + CFG::inputs - CFG::bi + a] = head[a];
        }
    }
}

// After the last clock of output block ro: its results (bias, scale, relu, cast)
// shift into out[g][0..FG) from the end, so that after r_out blocks out is in order.
template <class acc_T, class out_T, class b_T, class s_T, class CFG>
void kernel_finish(const acc_T acc[CFG::groups * CFG::bo], out_T out[CFG::groups * CFG::outputs], const b_T b[],
                   const s_T *s, int ro) {
#pragma HLS INLINE
    for (int g = 0; g < CFG::groups; g++) {
#pragma HLS UNROLL
        for (int k = 0; k < CFG::outputs - CFG::bo; k++) {
#pragma HLS UNROLL
            out[g * CFG::outputs + k] = out[g * CFG::outputs + k + CFG::bo];
        }
        for (int lane = 0; lane < CFG::bo; lane++) {
#pragma HLS UNROLL
            const int at = ro * CFG::groups * CFG::bo + g * CFG::bo + lane;
            out[g * CFG::outputs + CFG::outputs - CFG::bo + lane] =
                affine<CFG::scaled != 0>::template apply<acc_T, out_T, b_T, s_T, CFG::relu != 0>(
                    acc[g * CFG::bo + lane], b[at], s, at);
        }
    }
}

// The whole kernel on kin: RF clocks, one weight word each (the loop is the
// layer's pipeline: II = 1, RF iterations per input vector).
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, class CFG>
void kernel(in_T kin[CFG::groups * CFG::inputs], out_T out[CFG::groups * CFG::outputs], const w_T w[],
            const b_T b[], const s_T *s) {
#pragma HLS INLINE
    acc_T acc[CFG::groups * CFG::bo];
#pragma HLS ARRAY_PARTITION variable=acc complete
    int ri = 0, ro = 0;
    for (int t = 0; t < CFG::reuse; t++) {
#pragma HLS PIPELINE II=1
        kernel_clock<in_T, acc_T, w_T, CFG>(kin, acc, w, t, ri == 0);
        if (ri == CFG::r_in - 1) kernel_finish<acc_T, out_T, b_T, s_T, CFG>(acc, out, b, s, ro);
        if (CFG::r_in > 1) kernel_rotate<in_T, CFG>(kin);
        if (ri == CFG::r_in - 1) {
            ri = 0;
            ro++;
        } else {
            ri++;
        }
    }
}

// Fully connected layer: y = kernel(x).
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, class CFG>
void dense(const in_T x[CFG::inputs], out_T y[CFG::outputs], const w_T w[], const b_T b[], const s_T *s) {
#pragma HLS INLINE
    in_T kin[CFG::inputs];
#pragma HLS ARRAY_PARTITION variable=kin complete
    out_T out[CFG::outputs];
#pragma HLS ARRAY_PARTITION variable=out complete
    for (int i = 0; i < CFG::inputs; i++) {
#pragma HLS UNROLL
        kin[i] = x[i];
    }
    kernel<in_T, out_T, acc_T, w_T, b_T, s_T, CFG>(kin, out, w, b, s);
    for (int j = 0; j < CFG::outputs; j++) {
#pragma HLS UNROLL
        y[j] = out[j];
    }
}

}  // namespace nnet

#endif
