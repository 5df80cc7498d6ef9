// hlsflow layer library: convolution and pooling over the (height, width,
// channels) view of channels_last tensors (1D tensors have height 1).
// CFG holds the geometry (ih iw c, oh ow f, kh kw, sh sw, dh dw, pt pb pl pr,
// groups) and the kernel's folding (see nnet_dense.h).
//
// One output pixel is the kernel (nnet_dense.h) applied to its window; the
// functions here gather a window and compute one pixel. conv and pool below
// compute every pixel at once (the whole layer unrolled: parallelization
// factor = output pixels); nnet_stream.h computes a few pixels per clock.
#ifndef NNET_CONV_H_
#define NNET_CONV_H_

#include "ap_fixed.h"
#include "nnet_common.h"
#include "nnet_dense.h"

namespace nnet {

// Whether input row/column ih, iw is inside the tensor (not padding).
template <class CFG>
inline bool inside(int ih, int iw) {
#pragma HLS INLINE
    return ih >= 0 && ih < CFG::ih && iw >= 0 && iw < CFG::iw;
}

// The kernel input of one output pixel: tap (i, j), channel g * CG + cg goes to
// kin[g][(i * kw + j) * CG + cg]. In `src` tap (i, j) is at offset + i * rows +
// j * cols (its channels next to each other), padding already zero.
template <class in_T, class CFG>
void conv_load(in_T kin[CFG::groups * CFG::inputs], const in_T src[], int offset, int rows, int cols) {
#pragma HLS INLINE
    const int CG = CFG::c / CFG::groups;
    for (int g = 0; g < CFG::groups; g++) {
#pragma HLS UNROLL
        for (int i = 0; i < CFG::kh; i++) {
#pragma HLS UNROLL
            for (int j = 0; j < CFG::kw; j++) {
#pragma HLS UNROLL
                for (int k = 0; k < CG; k++) {
#pragma HLS UNROLL
                    kin[g * CFG::inputs + (i * CFG::kw + j) * CG + k] =
                        src[offset + i * rows + j * cols + g * CG + k];
                }
            }
        }
    }
}

// Max or average over one window, for every channel. Tap (i, j) is at offset +
// i * rows + j * cols in `src` and at input row/column ih0 + i * dh, iw0 + j * dw;
// taps in the padding do not count. The average is the exact sum divided by
// the number of unpadded taps, rounded once (a constant count without padding).
template <class in_T, class out_T, class acc_T, class DIV, class CFG>
void pool_window(const in_T src[], int offset, int rows, int cols, int ih0, int iw0, out_T y[CFG::c]) {
#pragma HLS INLINE
    const bool padded = CFG::pt || CFG::pb || CFG::pl || CFG::pr;
    for (int k = 0; k < CFG::c; k++) {
#pragma HLS UNROLL
        in_T best = 0;
        acc_T total = 0;
        int count = 0;
        for (int i = 0; i < CFG::kh; i++) {
#pragma HLS UNROLL
            for (int j = 0; j < CFG::kw; j++) {
#pragma HLS UNROLL
                if (padded && !inside<CFG>(ih0 + i * CFG::dh, iw0 + j * CFG::dw)) continue;
                in_T v = src[offset + i * rows + j * cols + k];
                if (count == 0 || v > best) best = v;
                total += v;
                count++;
            }
        }
        if (CFG::average) {  // (a window past a row's last output pixel may lie in the padding: count 0, whose result is not used)
            y[k] = divide<acc_T, out_T, DIV>(total, count);
        } else {
            y[k] = best;
        }
    }
}

// Every output pixel at once (reuse factor 1): each pixel's window gathered
// from x with constant indices, zero in the padding.
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, class CFG>
void conv(const in_T x[CFG::ih * CFG::iw * CFG::c], out_T y[CFG::oh * CFG::ow * CFG::f], const w_T w[],
          const b_T b[], const s_T *s) {
#pragma HLS INLINE
    for (int oh = 0; oh < CFG::oh; oh++) {
#pragma HLS UNROLL
        for (int ow = 0; ow < CFG::ow; ow++) {
#pragma HLS UNROLL
            in_T window[CFG::kh * CFG::kw * CFG::c];
#pragma HLS ARRAY_PARTITION variable=window complete
            for (int i = 0; i < CFG::kh; i++) {
#pragma HLS UNROLL
                for (int j = 0; j < CFG::kw; j++) {
#pragma HLS UNROLL
                    const int ih = oh * CFG::sh + i * CFG::dh - CFG::pt, iw = ow * CFG::sw + j * CFG::dw - CFG::pl;
                    for (int k = 0; k < CFG::c; k++) {
#pragma HLS UNROLL
                        if (inside<CFG>(ih, iw)) {
                            window[(i * CFG::kw + j) * CFG::c + k] = x[(ih * CFG::iw + iw) * CFG::c + k];
                        } else {
                            window[(i * CFG::kw + j) * CFG::c + k] = 0;
                        }
                    }
                }
            }
            in_T kin[CFG::groups * CFG::inputs];
#pragma HLS ARRAY_PARTITION variable=kin complete
            conv_load<in_T, CFG>(kin, window, 0, CFG::kw * CFG::c, CFG::c);
            out_T out[CFG::f];
#pragma HLS ARRAY_PARTITION variable=out complete
            kernel<in_T, out_T, acc_T, w_T, b_T, s_T, CFG>(kin, out, w, b, s);
            for (int k = 0; k < CFG::f; k++) {
#pragma HLS UNROLL
                y[(oh * CFG::ow + ow) * CFG::f + k] = out[k];
            }
        }
    }
}

template <class in_T, class out_T, class acc_T, class DIV, class CFG>
void pool(const in_T x[CFG::ih * CFG::iw * CFG::c], out_T y[CFG::oh * CFG::ow * CFG::c]) {
#pragma HLS INLINE
    for (int oh = 0; oh < CFG::oh; oh++) {
#pragma HLS UNROLL
        for (int ow = 0; ow < CFG::ow; ow++) {
#pragma HLS UNROLL
            const int ih0 = oh * CFG::sh - CFG::pt, iw0 = ow * CFG::sw - CFG::pl;
            pool_window<in_T, out_T, acc_T, DIV, CFG>(x, (ih0 * CFG::iw + iw0) * CFG::c,
                                                         CFG::dh * CFG::iw * CFG::c, CFG::dw * CFG::c, ih0, iw0,
                                                         y + (oh * CFG::ow + ow) * CFG::c);
        }
    }
}

}  // namespace nnet

#endif
