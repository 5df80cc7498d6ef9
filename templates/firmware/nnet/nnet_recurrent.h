// hlsflow layer library: recurrent layers (SimpleRNN, LSTM, GRU).
// One cell, instantiated once (INLINE off), is reused on every time step: the
// time loop runs its steps one after another (the recurrence makes each step
// wait for the last one's state, so it is not pipelined), or is unrolled into
// one cell per step (CFG::unroll_time). The reuse factor shares each multiplier
// of the kernel and of the recurrent kernel between RF products: a loop of RF
// iterations pipelined at II 1 inside the cell. Every sum and product has a type that holds it exactly
// (interval analysis); values are rounded only where Keras/QKeras round too:
// the gate activations' casts, the state quantizer and the chosen types of
// float models. CFG (parameters.h) holds the types, sizes and gate activations:
// each activation ("role": rec, cand, cell) is an exact clip(slope * x +
// offset, lo, hi) cast to its output type, or a lookup table.
#ifndef NNET_RECURRENT_H_
#define NNET_RECURRENT_H_

#include "ap_fixed.h"

namespace nnet {

// acc[j] += sum_i x[i] * w[i * STRIDE + OFFSET + j] for j < N_OUT, with
// N_IN * N_OUT / RF multipliers each used RF times: multiplier k computes
// products k * RF .. k * RF + RF - 1 (in the order i * N_OUT + j), one per
// clock of a loop pipelined at II 1; its (i, j) advance by one product per
// clock, so no index is divided in hardware. The sums are exact (interval
// types), so the order of the additions does not change a bit.
template <class in_T, class w_T, class acc_T, int N_IN, int STRIDE, int OFFSET, int N_OUT, int RF>
void multiply_add(const in_T x[N_IN], const w_T w[], acc_T acc[N_OUT]) {
#pragma HLS INLINE
    const int multipliers = N_IN * N_OUT / RF;
    int i[multipliers], j[multipliers];
#pragma HLS ARRAY_PARTITION variable=i complete
#pragma HLS ARRAY_PARTITION variable=j complete
    for (int k = 0; k < multipliers; k++) {
#pragma HLS UNROLL
        i[k] = k * RF / N_OUT;  // constants: k is unrolled
        j[k] = k * RF % N_OUT;
    }
    for (int r = 0; r < RF; r++) {
#pragma HLS PIPELINE II=1
        for (int k = 0; k < multipliers; k++) {
#pragma HLS UNROLL
            const w_T v = w[i[k] * STRIDE + OFFSET + j[k]];
            if (v != 0) acc[j[k]] = acc[j[k]] + x[i[k]] * v;
            if (++j[k] == N_OUT) {
                j[k] = 0;
                i[k]++;
            }
        }
    }
}

// A gate activation (ROLE::kind): the exact affine form, clipped and cast
// (AFFINE), a table lookup (TABLE), or a step function: the level after the
// last of its sorted thresholds that z reaches, by binary search (STEPS).
enum activation_kind { AFFINE, TABLE, STEPS };

template <class ROLE, int KIND>
struct activation {
    static typename ROLE::out_t apply(typename ROLE::in_t z, const typename ROLE::out_t *,
                                      const typename ROLE::threshold_t *) {
#pragma HLS INLINE
        typedef typename ROLE::lin_t lin_t;
        // (z's range contains 0, so lin_t holds the offset; bounds are flagged only inside lin_t's range)
        lin_t v = z * ROLE::slope() + ROLE::offset();
        if (ROLE::has_lo && v < ROLE::lo()) v = ROLE::lo();
        if (ROLE::has_hi && v > ROLE::hi()) v = ROLE::hi();
        return typename ROLE::out_t(v);
    }
};

template <class ROLE>
struct activation<ROLE, TABLE> {
    static typename ROLE::out_t apply(typename ROLE::in_t z, const typename ROLE::out_t *table,
                                      const typename ROLE::threshold_t *) {
#pragma HLS INLINE
        typename ROLE::index_t i = z;
        return table[i.range(ROLE::index_t::width - 1, 0).to_uint()];
    }
};

template <class ROLE>
struct activation<ROLE, STEPS> {
    static typename ROLE::out_t apply(typename ROLE::in_t z, const typename ROLE::out_t *levels,
                                      const typename ROLE::threshold_t *thresholds) {
#pragma HLS INLINE
        int index = 0;  // thresholds below or at z
        for (int b = 0; b < ROLE::search_bits; b++) {
#pragma HLS UNROLL
            const int step = 1 << (ROLE::search_bits - 1 - b);
            if (index + step <= ROLE::steps && z >= thresholds[index + step - 1]) index += step;
        }
        return levels[index];
    }
};

template <class ROLE>
inline typename ROLE::out_t activate(typename ROLE::in_t z, const typename ROLE::out_t *table,
                                     const typename ROLE::threshold_t *thresholds) {
#pragma HLS INLINE
    return activation<ROLE, ROLE::kind>::apply(z, table, thresholds);
}

// SimpleRNN step: h = cand(x W + b + hs U).
template <class x_T, class y_T, class CFG>
void simple_rnn_cell(const x_T x[CFG::n_in], const typename CFG::hstate_t hs[CFG::units], y_T h[CFG::units],
                     const typename CFG::weight_t w[], const typename CFG::recurrent_weight_t u[],
                     const typename CFG::bias_t b[], const typename CFG::cand::out_t *cand_table,
                     const typename CFG::cand::threshold_t *cand_thresholds) {
#pragma HLS INLINE off
    const int U = CFG::units;
    typename CFG::accum_t z[U];
#pragma HLS ARRAY_PARTITION variable=z complete
    for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
        z[j] = b[j];
    }
    multiply_add<x_T, typename CFG::weight_t, typename CFG::accum_t, CFG::n_in, U, 0, U, CFG::reuse_factor>(x, w, z);
    multiply_add<typename CFG::hstate_t, typename CFG::recurrent_weight_t, typename CFG::accum_t, U, U, 0, U,
                 CFG::reuse_factor>(hs, u, z);
    for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
        h[j] = activate<typename CFG::cand>(z[j], cand_table, cand_thresholds);
    }
}

// LSTM step (gates i, f, c, o as in Keras): c = f * cs + i * cand(z_c), h = o * cell(c).
template <class x_T, class y_T, class CFG>
void lstm_cell(const x_T x[CFG::n_in], const typename CFG::hstate_t hs[CFG::units],
               const typename CFG::cstate_t cs[CFG::units], typename CFG::carry_t c[CFG::units], y_T h[CFG::units],
               const typename CFG::weight_t w[], const typename CFG::recurrent_weight_t u[],
               const typename CFG::bias_t b[], const typename CFG::rec::out_t *rec_table,
               const typename CFG::cand::out_t *cand_table, const typename CFG::cell::out_t *cell_table,
               const typename CFG::rec::threshold_t *rec_thresholds,
               const typename CFG::cand::threshold_t *cand_thresholds,
               const typename CFG::cell::threshold_t *cell_thresholds) {
#pragma HLS INLINE off
    const int U = CFG::units, G = 4 * CFG::units;
    typename CFG::accum_t z[G];
#pragma HLS ARRAY_PARTITION variable=z complete
    for (int j = 0; j < G; j++) {
#pragma HLS UNROLL
        z[j] = b[j];
    }
    multiply_add<x_T, typename CFG::weight_t, typename CFG::accum_t, CFG::n_in, G, 0, G, CFG::reuse_factor>(x, w, z);
    multiply_add<typename CFG::hstate_t, typename CFG::recurrent_weight_t, typename CFG::accum_t, U, G, 0, G,
                 CFG::reuse_factor>(hs, u, z);
    for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
        typename CFG::rec::out_t i = activate<typename CFG::rec>(z[j], rec_table, rec_thresholds);
        typename CFG::rec::out_t f = activate<typename CFG::rec>(z[U + j], rec_table, rec_thresholds);
        typename CFG::cand::out_t g = activate<typename CFG::cand>(z[2 * U + j], cand_table, cand_thresholds);
        typename CFG::rec::out_t o = activate<typename CFG::rec>(z[3 * U + j], rec_table, rec_thresholds);
        c[j] = f * cs[j] + i * g;
        h[j] = o * activate<typename CFG::cell>(c[j], cell_table, cell_thresholds);
    }
}

// GRU step (gates z, r, h as in Keras): h = z * hs + (1 - z) * cand(x W_h + b_h + r * (hs U_h + rb_h))
// with reset_after, else cand(x W_h + b_h + (r * hs) U_h).
template <class x_T, class y_T, class CFG>
void gru_cell(const x_T x[CFG::n_in], const typename CFG::hstate_t hs[CFG::units], y_T h[CFG::units],
              const typename CFG::weight_t w[], const typename CFG::recurrent_weight_t u[],
              const typename CFG::bias_t b[], const typename CFG::recurrent_bias_t rb[],
              const typename CFG::rec::out_t *rec_table, const typename CFG::cand::out_t *cand_table,
              const typename CFG::rec::threshold_t *rec_thresholds,
              const typename CFG::cand::threshold_t *cand_thresholds) {
#pragma HLS INLINE off
    const int U = CFG::units, G = 3 * CFG::units, RF = CFG::reuse_factor;
    typedef typename CFG::accum_t acc_t;
    typedef typename CFG::cand_accum_t cand_acc_t;
    acc_t gates[2 * U];
#pragma HLS ARRAY_PARTITION variable=gates complete
    for (int j = 0; j < 2 * U; j++) {
#pragma HLS UNROLL
        gates[j] = b[j];
        if (CFG::reset_after) gates[j] = gates[j] + rb[j];
    }
    multiply_add<x_T, typename CFG::weight_t, acc_t, CFG::n_in, G, 0, 2 * U, RF>(x, w, gates);
    multiply_add<typename CFG::hstate_t, typename CFG::recurrent_weight_t, acc_t, U, G, 0, 2 * U, RF>(hs, u, gates);
    typename CFG::rec::out_t update[U], reset[U];
#pragma HLS ARRAY_PARTITION variable=update complete
#pragma HLS ARRAY_PARTITION variable=reset complete
    for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
        update[j] = activate<typename CFG::rec>(gates[j], rec_table, rec_thresholds);
        reset[j] = activate<typename CFG::rec>(gates[U + j], rec_table, rec_thresholds);
    }
    cand_acc_t sum[U];
#pragma HLS ARRAY_PARTITION variable=sum complete
    if (CFG::reset_after) {
        acc_t xh[U], rh[U];
#pragma HLS ARRAY_PARTITION variable=xh complete
#pragma HLS ARRAY_PARTITION variable=rh complete
        for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
            xh[j] = b[2 * U + j];
            rh[j] = rb[2 * U + j];
        }
        multiply_add<x_T, typename CFG::weight_t, acc_t, CFG::n_in, G, 2 * U, U, RF>(x, w, xh);
        multiply_add<typename CFG::hstate_t, typename CFG::recurrent_weight_t, acc_t, U, G, 2 * U, U, RF>(hs, u, rh);
        for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
            sum[j] = xh[j] + typename CFG::reset_t(reset[j] * rh[j]);
        }
    } else {
        typename CFG::reset_t rs[U];
#pragma HLS ARRAY_PARTITION variable=rs complete
        for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
            sum[j] = b[2 * U + j];
            rs[j] = reset[j] * hs[j];
        }
        multiply_add<x_T, typename CFG::weight_t, cand_acc_t, CFG::n_in, G, 2 * U, U, RF>(x, w, sum);
        multiply_add<typename CFG::reset_t, typename CFG::recurrent_weight_t, cand_acc_t, U, G, 2 * U, U, RF>(rs, u, sum);
    }
    for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
        typename CFG::cand::out_t candidate = activate<typename CFG::cand>(sum[j], cand_table, cand_thresholds);
        typename CFG::update_t keep = 1 - update[j];
        h[j] = update[j] * hs[j] + keep * candidate;
    }
}

// The cells behind one interface: step(x_t, h, c, ...) turns the state (h,
// the LSTM carry c) into the next one, casting the fed-back values to the
// state types first. Every cell takes every parameter (CFG defines each
// type); the ones it does not use are null.
#define NNET_RECURRENT_PARAMS                                                                          \
    const typename CFG::weight_t w[], const typename CFG::recurrent_weight_t u[], const typename CFG::bias_t b[], \
        const typename CFG::recurrent_bias_t rb[], const typename CFG::rec::out_t *rec_table,           \
        const typename CFG::cand::out_t *cand_table, const typename CFG::cell::out_t *cell_table,       \
        const typename CFG::rec::threshold_t *rec_thresholds,                                           \
        const typename CFG::cand::threshold_t *cand_thresholds,                                         \
        const typename CFG::cell::threshold_t *cell_thresholds

struct simple_rnn {
    template <class x_T, class y_T, class CFG>
    static void step(const x_T xt[CFG::n_in], y_T h[CFG::units], typename CFG::carry_t c[CFG::units],
                     NNET_RECURRENT_PARAMS) {
#pragma HLS INLINE
        typename CFG::hstate_t hs[CFG::units];
#pragma HLS ARRAY_PARTITION variable=hs complete
        for (int j = 0; j < CFG::units; j++) {
#pragma HLS UNROLL
            hs[j] = h[j];
        }
        simple_rnn_cell<x_T, y_T, CFG>(xt, hs, h, w, u, b, cand_table, cand_thresholds);
    }
};

struct lstm {
    template <class x_T, class y_T, class CFG>
    static void step(const x_T xt[CFG::n_in], y_T h[CFG::units], typename CFG::carry_t c[CFG::units],
                     NNET_RECURRENT_PARAMS) {
#pragma HLS INLINE
        typename CFG::hstate_t hs[CFG::units];
        typename CFG::cstate_t cs[CFG::units];
#pragma HLS ARRAY_PARTITION variable=hs complete
#pragma HLS ARRAY_PARTITION variable=cs complete
        for (int j = 0; j < CFG::units; j++) {
#pragma HLS UNROLL
            hs[j] = h[j];
            cs[j] = c[j];
        }
        lstm_cell<x_T, y_T, CFG>(xt, hs, cs, c, h, w, u, b, rec_table, cand_table, cell_table, rec_thresholds,
                                  cand_thresholds, cell_thresholds);
    }
};

struct gru {
    template <class x_T, class y_T, class CFG>
    static void step(const x_T xt[CFG::n_in], y_T h[CFG::units], typename CFG::carry_t c[CFG::units],
                     NNET_RECURRENT_PARAMS) {
#pragma HLS INLINE
        typename CFG::hstate_t hs[CFG::units];
#pragma HLS ARRAY_PARTITION variable=hs complete
        for (int j = 0; j < CFG::units; j++) {
#pragma HLS UNROLL
            hs[j] = h[j];
        }
        gru_cell<x_T, y_T, CFG>(xt, hs, h, w, u, b, rb, rec_table, cand_table, rec_thresholds, cand_thresholds);
    }
};

// One time step t of a whole-tensor layer: reads step s of x (last to first
// with go_backwards), runs the cell, writes h at step t (return_sequences; at
// steps - 1 - t when aligned, as Bidirectional's backward layer) or, after the
// last step, as the output.
template <class CELL, class x_T, class y_T, class CFG>
void recurrent_step(const x_T x[], y_T y[], y_T h[CFG::units], typename CFG::carry_t c[CFG::units], int t,
                    NNET_RECURRENT_PARAMS) {
#pragma HLS INLINE
    x_T xt[CFG::n_in];
#pragma HLS ARRAY_PARTITION variable=xt complete
    const int s = CFG::go_backwards ? CFG::steps - 1 - t : t;
    for (int i = 0; i < CFG::n_in; i++) {
#pragma HLS UNROLL
        xt[i] = x[s * CFG::n_in + i];
    }
    CELL::template step<x_T, y_T, CFG>(xt, h, c, w, u, b, rb, rec_table, cand_table, cell_table, rec_thresholds,
                                       cand_thresholds, cell_thresholds);
    const int o = CFG::return_sequences ? (CFG::aligned ? CFG::steps - 1 - t : t) : 0;
    if (CFG::return_sequences || t == CFG::steps - 1) {
        for (int j = 0; j < CFG::units; j++) {
#pragma HLS UNROLL
            y[o * CFG::units + j] = h[j];
        }
    }
}

// A recurrent layer over a whole (steps x n_in) tensor (io_parallel).
template <class CELL, class x_T, class y_T, class CFG>
void recurrent(const x_T x[CFG::steps * CFG::n_in], y_T y[], NNET_RECURRENT_PARAMS) {
#pragma HLS INLINE
    y_T h[CFG::units];
    typename CFG::carry_t c[CFG::units];
#pragma HLS ARRAY_PARTITION variable=h complete
#pragma HLS ARRAY_PARTITION variable=c complete
    for (int j = 0; j < CFG::units; j++) {
#pragma HLS UNROLL
        h[j] = 0;
        c[j] = 0;
    }
    if (CFG::unroll_time) {
        for (int t = 0; t < CFG::steps; t++) {
#pragma HLS UNROLL
            recurrent_step<CELL, x_T, y_T, CFG>(x, y, h, c, t, w, u, b, rb, rec_table, cand_table, cell_table,
                                                rec_thresholds, cand_thresholds, cell_thresholds);
        }
    } else {
        for (int t = 0; t < CFG::steps; t++) {
            recurrent_step<CELL, x_T, y_T, CFG>(x, y, h, c, t, w, u, b, rb, rec_table, cand_table, cell_table,
                                                rec_thresholds, cand_thresholds, cell_thresholds);
        }
    }
}

}  // namespace nnet

#endif
