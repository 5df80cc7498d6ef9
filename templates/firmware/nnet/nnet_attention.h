// hlsflow layer library: the core of MultiHeadAttention (io_parallel): for
// every head and query step, the scores of the key steps (exact), their
// softmax scaled by 1/sqrt(key_dim) through the exp and 1/sum tables (as
// nnet_softmax.h), and the probability-weighted sum of the values (exact),
// cast to the output type. See hlsflow/attention.py.
#ifndef NNET_ATTENTION_H_
#define NNET_ATTENTION_H_

#include "ap_fixed.h"

namespace nnet {

template <class q_T, class k_T, class v_T, class y_T, class CFG>
void attention(const q_T q[CFG::query_steps * CFG::heads * CFG::key_dim],
               const k_T k[CFG::key_steps * CFG::heads * CFG::key_dim],
               const v_T v[CFG::key_steps * CFG::heads * CFG::value_dim],
               y_T y[CFG::query_steps * CFG::heads * CFG::value_dim],
               const typename CFG::exp_t exp_table[1 << CFG::index_t::width],
               const typename CFG::inv_t inv_table[1 << CFG::inv_index_t::width]) {
#pragma HLS INLINE
    const int H = CFG::heads, D = CFG::key_dim, DV = CFG::value_dim, S = CFG::key_steps;
    for (int h = 0; h < H; h++) {
        for (int t = 0; t < CFG::query_steps; t++) {
#pragma HLS UNROLL
            typename CFG::score_t s[S];
#pragma HLS ARRAY_PARTITION variable=s complete
            for (int u = 0; u < S; u++) {
#pragma HLS UNROLL
                typename CFG::score_t acc = 0;
                for (int d = 0; d < D; d++) {
#pragma HLS UNROLL
                    acc = acc + q[(t * H + h) * D + d] * k[(u * H + h) * D + d];
                }
                s[u] = acc;
            }
            typename CFG::score_t peak = s[0];
            for (int u = 1; u < S; u++) {
#pragma HLS UNROLL
                if (s[u] > peak) peak = s[u];
            }
            typename CFG::exp_t e[S];
#pragma HLS ARRAY_PARTITION variable=e complete
            typename CFG::sum_t total = 0;
            for (int u = 0; u < S; u++) {
#pragma HLS UNROLL
                typename CFG::gap_t gap = peak - s[u];
                typename CFG::index_t i = gap * CFG::factor();
                e[u] = exp_table[i.range(CFG::index_t::width - 1, 0).to_uint()];
                total = total + e[u];
            }
            typename CFG::inv_index_t ti = total;
            typename CFG::inv_t inv = inv_table[ti.range(CFG::inv_index_t::width - 1, 0).to_uint()];
            typename CFG::prob_t p[S];
#pragma HLS ARRAY_PARTITION variable=p complete
            for (int u = 0; u < S; u++) {
#pragma HLS UNROLL
                p[u] = e[u] * inv;
            }
            for (int d = 0; d < DV; d++) {
#pragma HLS UNROLL
                typename CFG::value_accum_t acc = 0;
                for (int u = 0; u < S; u++) {
#pragma HLS UNROLL
                    acc = acc + p[u] * v[(u * H + h) * DV + d];
                }
                y[(t * H + h) * DV + d] = acc;
            }
        }
    }
}

}  // namespace nnet

#endif
