// hlsflow layer library: layer normalization over groups of CFG::n values (the
// last axis; io_parallel, and one pixel at a time in io_stream). See
// hlsflow/layernorm.py: with S = sum(x), D_i = n x_i - S (exact) and Q the
// sum of the D_i^2 (D_i rounded to square_t), the normalized value is
// D_i sqrt(n / m) 2^-(e + extra_shift) where K = m 4^e (m in [1, 4)) is the
// raw integer of Q + n^3 eps; sqrt(n / m) comes from a table indexed by m's
// leading bits. It is rounded once to norm_t, then scaled by gamma, shifted
// by beta and cast to the output type.
#ifndef NNET_LAYERNORM_H_
#define NNET_LAYERNORM_H_

#include "ap_fixed.h"

namespace nnet {

template <class x_T, class y_T, class CFG, int N>
void layernorm(const x_T x[N], y_T y[N], const typename CFG::weight_t gamma[CFG::n],
               const typename CFG::bias_t beta[CFG::n], const typename CFG::table_t table[1 << CFG::index_bits]) {
#pragma HLS INLINE
    const int C = CFG::n, VW = CFG::var_t::width, DW = CFG::dev_t::width, TW = CFG::table_t::width;
    const int MAXE = CFG::max_shift, M = CFG::index_bits - 2;
    const int PW = DW + TW + 1;  // the raw product D_i * table
    typedef ap_fixed<PW + MAXE, PW - (CFG::table_t::width - CFG::table_t::iwidth)> wide_t;  // value D_i * r * 2^-e
    for (int g = 0; g < N / C; g++) {
        typename CFG::sum_t s = 0;
        for (int i = 0; i < C; i++) {
#pragma HLS UNROLL
            s = s + x[g * C + i];
        }
        typename CFG::dev_t d[C];
#pragma HLS ARRAY_PARTITION variable=d complete
        typename CFG::var_t q = 0;
        for (int i = 0; i < C; i++) {
#pragma HLS UNROLL
            d[i] = x[g * C + i] * C - s;
            typename CFG::square_t r = d[i];
            q = q + r * r;
        }
        ap_uint<VW> k = q.range(VW - 1, 0);
        k = k + CFG::eps_raw;
        int top = 0;  // the leading one of k
        for (int b = 0; b < VW; b++) {
#pragma HLS UNROLL
            if (k[b]) top = b;
        }
        const int half = top / 2, e = half + CFG::extra_shift;
        ap_uint<VW + M> scaled = ap_uint<VW + M>(k) << M;
        const ap_uint<CFG::index_bits> index = scaled >> (2 * half);
        const typename CFG::table_t r = table[index.to_uint()];
        for (int i = 0; i < C; i++) {
#pragma HLS UNROLL
            ap_int<DW> draw = d[i].range(DW - 1, 0);
            ap_uint<TW> rraw = r.range(TW - 1, 0);
            ap_int<PW + MAXE> product = ap_int<PW + MAXE>(ap_int<PW>(draw) * rraw) << (MAXE - e);
            wide_t v;
            v.range(PW + MAXE - 1, 0) = product;
            typename CFG::norm_t z = v;
            y[g * C + i] = z * gamma[i] + beta[i];
        }
    }
}

}  // namespace nnet

#endif
