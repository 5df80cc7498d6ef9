// hlsflow layer library: io_stream forms of the sliding-window layers. The
// input arrives pixel by pixel (channels innermost) and is kept in a line
// buffer of ROWS = (kh - 1) * dh + 1 rows; an output row is computed as soon as
// the last input row it needs has arrived. The arithmetic is the io_parallel
// per-pixel code, so both io types give the same bits.
#ifndef NNET_STREAM_H_
#define NNET_STREAM_H_

#include "hls_stream.h"
#include "nnet_conv.h"

namespace nnet {

// Last input row output row oh reads (padding rows below the tensor excluded).
template <class CFG>
inline int last_row(int oh) {
    int r = oh * CFG::sh + (CFG::kh - 1) * CFG::dh - CFG::pt;
    return r < 0 ? 0 : (r > CFG::ih - 1 ? CFG::ih - 1 : r);
}

template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, class CFG, bool SCALED>
void conv_stream(hls::stream<in_T> &x, hls::stream<out_T> &y, const w_T w[], const b_T b[], const s_T s[]) {
    const int ROWS = (CFG::kh - 1) * CFG::dh + 1;
    in_T buffer[ROWS * CFG::iw * CFG::c];
#pragma HLS ARRAY_PARTITION variable=buffer complete dim=0
    int next = 0;  // next output row
    for (int r = 0; r < CFG::ih; r++) {
        for (int i = 0; i < CFG::iw * CFG::c; i++) {
#pragma HLS PIPELINE
            buffer[(r % ROWS) * CFG::iw * CFG::c + i] = x.read();
        }
        for (int oh = 0; oh < CFG::oh; oh++) {
            if (oh != next || last_row<CFG>(oh) > r) continue;
            for (int ow = 0; ow < CFG::ow; ow++) {
#pragma HLS PIPELINE
                out_T pixel[CFG::f];
                if (SCALED) {
                    conv_scaled_pixel<in_T, out_T, acc_T, w_T, b_T, s_T, CFG, ROWS>(buffer, pixel, w, b, s, oh, ow);
                } else {
                    conv_pixel<in_T, out_T, acc_T, w_T, b_T, CFG, ROWS>(buffer, pixel, w, b, oh, ow);
                }
                for (int f = 0; f < CFG::f; f++) y.write(pixel[f]);
            }
            next++;
        }
    }
}

template <class in_T, class out_T, class acc_T, class DIV, class CFG>
void pool_stream(hls::stream<in_T> &x, hls::stream<out_T> &y) {
    const int ROWS = CFG::kh;
    in_T buffer[ROWS * CFG::iw * CFG::c];
#pragma HLS ARRAY_PARTITION variable=buffer complete dim=0
    int next = 0;
    for (int r = 0; r < CFG::ih; r++) {
        for (int i = 0; i < CFG::iw * CFG::c; i++) {
#pragma HLS PIPELINE
            buffer[(r % ROWS) * CFG::iw * CFG::c + i] = x.read();
        }
        for (int oh = 0; oh < CFG::oh; oh++) {
            if (oh != next || last_row<CFG>(oh) > r) continue;
            for (int ow = 0; ow < CFG::ow; ow++) {
#pragma HLS PIPELINE
                out_T pixel[CFG::c];
                pool_pixel<in_T, out_T, acc_T, DIV, CFG, ROWS>(buffer, pixel, oh, ow);
                for (int k = 0; k < CFG::c; k++) y.write(pixel[k]);
            }
            next++;
        }
    }
}

}  // namespace nnet

#endif
