// hlsflow layer library: fully connected layer, latency strategy (io_parallel).
// The accumulator type acc_T is wide enough that no partial sum overflows or
// rounds; the only rounding is the cast of the result to out_T.
#ifndef NNET_DENSE_H_
#define NNET_DENSE_H_

#include "ap_fixed.h"

namespace nnet {

template <class in_T, class out_T, class acc_T, class w_T, class b_T, int N_IN, int N_OUT, bool RELU>
void dense(const in_T x[N_IN], out_T y[N_OUT], const w_T w[N_IN * N_OUT], const b_T b[N_OUT]) {
#pragma HLS INLINE
    for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
        acc_T acc = b[j];
        for (int i = 0; i < N_IN; i++) {
#pragma HLS UNROLL
            acc += x[i] * w[i * N_OUT + j];
        }
        if (RELU && acc < 0) acc = 0;
        y[j] = acc;
    }
}

// Per-output-channel scale after the sum: y = (sum x*w) * s + b, exact until the output cast.
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, int N_IN, int N_OUT, bool RELU>
void dense_scaled(const in_T x[N_IN], out_T y[N_OUT], const w_T w[N_IN * N_OUT], const b_T b[N_OUT],
                  const s_T s[N_OUT]) {
#pragma HLS INLINE
    for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
        acc_T acc = 0;
        for (int i = 0; i < N_IN; i++) {
#pragma HLS UNROLL
            acc += x[i] * w[i * N_OUT + j];
        }
        if (RELU && acc * s[j] + b[j] < 0) {
            y[j] = 0;
        } else {
            y[j] = acc * s[j] + b[j];
        }
    }
}

}  // namespace nnet

#endif
