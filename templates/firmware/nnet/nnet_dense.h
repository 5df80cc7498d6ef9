// hlsflow layer library: fully connected layer (io_parallel).
// The accumulator type acc_T is wide enough that no partial sum overflows or
// rounds, in any order; the only rounding is the cast of the result to out_T.
// (`acc = acc + x * w` rather than `acc += x * w`: the same arithmetic, and g++
// instantiates it in half the time.)
// Zero (pruned) weights are skipped: with constant weights the HLS tool drops
// their multipliers and adders, and power-of-two weights become shifts.
#ifndef NNET_DENSE_H_
#define NNET_DENSE_H_

#include "ap_fixed.h"

namespace nnet {

// y_j = cast(relu?(acc_j + b_j)), or with SCALED cast(relu?(acc_j * s_j + b_j)).
// (A class template specialized on SCALED, so that only the arithmetic in use
// is compiled.)
template <bool SCALED>
struct dense_result {
    template <class acc_T, class out_T, class b_T, class s_T, int N_OUT, bool RELU>
    static void write(const acc_T acc[N_OUT], out_T y[N_OUT], const b_T b[N_OUT], const s_T *) {
#pragma HLS INLINE
        for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
            acc_T v = acc[j] + b[j];
            if (RELU && v < 0) v = 0;
            y[j] = v;
        }
    }
};

template <>
struct dense_result<true> {
    template <class acc_T, class out_T, class b_T, class s_T, int N_OUT, bool RELU>
    static void write(const acc_T acc[N_OUT], out_T y[N_OUT], const b_T b[N_OUT], const s_T *s) {
#pragma HLS INLINE
        for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
            if (RELU && acc[j] * s[j] + b[j] < 0) {
                y[j] = 0;
            } else {
                y[j] = acc[j] * s[j] + b[j];
            }
        }
    }
};

// Latency strategy: every multiplication unrolled, one result per clock.
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, int N_IN, int N_OUT, bool SCALED,
          bool RELU>
void dense_latency(const in_T x[N_IN], out_T y[N_OUT], const w_T w[N_IN * N_OUT], const b_T b[N_OUT], const s_T *s) {
#pragma HLS INLINE
    acc_T acc[N_OUT];
#pragma HLS ARRAY_PARTITION variable=acc complete
    for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
        acc[j] = 0;
        for (int i = 0; i < N_IN; i++) {
#pragma HLS UNROLL
            if (w[i * N_OUT + j] != 0) acc[j] = acc[j] + x[i] * w[i * N_OUT + j];
        }
    }
    dense_result<SCALED>::template write<acc_T, out_T, b_T, s_T, N_OUT, RELU>(acc, y, b, s);
}

// Resource strategy: N_IN * N_OUT / RF multipliers, each used RF times
// (initiation interval RF); weights reshaped so each cycle reads one word.
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, int N_IN, int N_OUT, int RF,
          bool SCALED, bool RELU>
void dense_resource(const in_T x[N_IN], out_T y[N_OUT], const w_T w[N_IN * N_OUT], const b_T b[N_OUT], const s_T *s) {
#pragma HLS INLINE
    constexpr int multipliers = N_IN * N_OUT / RF;
#pragma HLS ARRAY_RESHAPE variable=w cyclic factor=multipliers
    acc_T acc[N_OUT];
#pragma HLS ARRAY_PARTITION variable=acc complete
    for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
        acc[j] = 0;
    }
    for (int r = 0; r < RF; r++) {
#pragma HLS PIPELINE II=1
        for (int k = 0; k < multipliers; k++) {
#pragma HLS UNROLL
            const int index = r + k * RF;
            if (w[index] != 0) acc[index % N_OUT] = acc[index % N_OUT] + x[index / N_OUT] * w[index];
        }
    }
    dense_result<SCALED>::template write<acc_T, out_T, b_T, s_T, N_OUT, RELU>(acc, y, b, s);
}

}  // namespace nnet

#endif
