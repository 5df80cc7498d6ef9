// hlsflow layer library: io_stream form of the recurrent layers. The input
// arrives one time step (n_in values) at a time and the cell runs on each step
// as soon as it has arrived; with return_sequences each step's h leaves right
// after. Two cases wait for the whole sequence: go_backwards reads the steps
// last to first, and Bidirectional's backward layer (aligned) writes its steps
// in input order. The cells are the io_parallel ones, so both io types give
// the same bits.
#ifndef NNET_RECURRENT_STREAM_H_
#define NNET_RECURRENT_STREAM_H_

#include "hls_stream.h"
#include "nnet_recurrent.h"

namespace nnet {

template <class CELL, class x_T, class y_T, class CFG>
void recurrent_stream(hls::stream<x_T> &in, hls::stream<y_T> &out, NNET_RECURRENT_PARAMS) {
    const int U = CFG::units, N_IN = CFG::n_in, STEPS = CFG::steps;
    const bool ALIGNED = CFG::aligned && CFG::return_sequences;
    y_T h[U];
    typename CFG::carry_t c[U];
#pragma HLS ARRAY_PARTITION variable=h complete
#pragma HLS ARRAY_PARTITION variable=c complete
    x_T sequence[CFG::go_backwards ? STEPS * N_IN : 1];
    y_T outputs[ALIGNED ? STEPS * U : 1];
    for (int j = 0; j < U; j++) {
#pragma HLS UNROLL
        h[j] = 0;
        c[j] = 0;
    }
    if (CFG::go_backwards) {
        for (int i = 0; i < STEPS * N_IN; i++) {
#pragma HLS PIPELINE
            sequence[i] = in.read();
        }
    }
    for (int t = 0; t < STEPS; t++) {
#pragma HLS PIPELINE II=CFG::reuse_factor
        x_T xt[N_IN];
#pragma HLS ARRAY_PARTITION variable=xt complete
        for (int i = 0; i < N_IN; i++) {
            xt[i] = CFG::go_backwards ? sequence[(STEPS - 1 - t) * N_IN + i] : in.read();
        }
        CELL::template step<x_T, y_T, CFG>(xt, h, c, w, u, b, rb, rec_table, cand_table, cell_table, rec_thresholds,
                                           cand_thresholds, cell_thresholds);
        for (int j = 0; j < U; j++) {
            if (ALIGNED) {
                outputs[(STEPS - 1 - t) * U + j] = h[j];
            } else if (CFG::return_sequences) {
                out.write(h[j]);
            }
        }
    }
    if (ALIGNED) {
        for (int i = 0; i < STEPS * U; i++) {
#pragma HLS PIPELINE
            out.write(outputs[i]);
        }
    }
    if (!CFG::return_sequences) {
        for (int j = 0; j < U; j++) out.write(h[j]);
    }
}

}  // namespace nnet

#endif
