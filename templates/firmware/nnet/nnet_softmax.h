// hlsflow layer library: softmax by two lookup tables (io_parallel).
// e_i = exp_table[bits of (max - x_i) cast to index_T]; 1/sum from inv_table
// indexed by the bits of the (exact) sum cast to inv_index_T.
#ifndef NNET_SOFTMAX_H_
#define NNET_SOFTMAX_H_

#include "ap_fixed.h"

namespace nnet {

// Over the last axis: ROWS rows of N values each.
template <class in_T, class out_T, class index_T, class exp_T, class sum_T, class inv_index_T, class inv_T, int N,
          int ROWS>
void softmax(const in_T x[ROWS * N], out_T y[ROWS * N], const exp_T exp_table[1 << index_T::width],
             const inv_T inv_table[1 << inv_index_T::width]) {
#pragma HLS INLINE
    for (int r = 0; r < ROWS; r++) {
#pragma HLS UNROLL
        in_T peak = x[r * N];
        for (int i = 1; i < N; i++) {
#pragma HLS UNROLL
            if (x[r * N + i] > peak) peak = x[r * N + i];
        }
        exp_T e[N];
#pragma HLS ARRAY_PARTITION variable=e complete
        sum_T total = 0;
        for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
            index_T d = peak - x[r * N + i];
            e[i] = exp_table[d.range(index_T::width - 1, 0).to_uint()];
            total += e[i];
        }
        inv_index_T t = total;
        inv_T inv = inv_table[t.range(inv_index_T::width - 1, 0).to_uint()];
        for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
            y[r * N + i] = e[i] * inv;
        }
    }
}

}  // namespace nnet

#endif
