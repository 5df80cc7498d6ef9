// hlsflow layer library: embedding (a ROM lookup per index, io_parallel).
#ifndef NNET_EMBED_H_
#define NNET_EMBED_H_

#include "ap_fixed.h"

namespace nnet {

// y[t] = w[x[t]] (a row of D values); indices beyond the V rows give zeros.
template <class x_T, class y_T, class w_T, int T, int V, int D>
void embedding(const x_T x[T], y_T y[T * D], const w_T w[V * D]) {
#pragma HLS INLINE
    for (int t = 0; t < T; t++) {
#pragma HLS UNROLL
        const unsigned index = x[t].to_uint();
        for (int d = 0; d < D; d++) {
#pragma HLS UNROLL
            y[t * D + d] = index < V ? y_T(w[index * D + d]) : y_T(0);
        }
    }
}

}  // namespace nnet

#endif
