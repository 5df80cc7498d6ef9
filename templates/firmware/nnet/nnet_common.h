// hlsflow layer library: element-wise casts and activations (io_parallel).
#ifndef NNET_COMMON_H_
#define NNET_COMMON_H_

#include "ap_fixed.h"

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

}  // namespace nnet

#endif
