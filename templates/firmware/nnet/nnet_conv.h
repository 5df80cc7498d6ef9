// hlsflow layer library: convolution and pooling over the (height, width,
// channels) view of channels_last tensors (1D tensors have height 1).
// CFG holds the geometry: ih iw c  oh ow f  kh kw  sh sw  dh dw  pt pl  groups.
// The input is read through a ROWS-row buffer, row ih at (ih % ROWS): the whole
// tensor in io_parallel (ROWS = CFG::ih), a line buffer in io_stream.
#ifndef NNET_CONV_H_
#define NNET_CONV_H_

#include "ap_fixed.h"
#include "nnet_common.h"

namespace nnet {

// Whether input row/column ih, iw is inside the tensor (not padding).
template <class CFG>
inline bool inside(int ih, int iw) {
    return ih >= 0 && ih < CFG::ih && iw >= 0 && iw < CFG::iw;
}

// acc + the products of one output position (oh, ow) and filter f.
template <class in_T, class acc_T, class w_T, class CFG, int ROWS>
acc_T conv_sum(const in_T x[ROWS * CFG::iw * CFG::c], const w_T w[], int oh, int ow, int f, acc_T acc) {
#pragma HLS INLINE
    const int CG = CFG::c / CFG::groups, FG = CFG::f / CFG::groups;
    const int g = f / FG;
    for (int i = 0; i < CFG::kh; i++) {
        for (int j = 0; j < CFG::kw; j++) {
            int ih = oh * CFG::sh + i * CFG::dh - CFG::pt, iw = ow * CFG::sw + j * CFG::dw - CFG::pl;
            if (!inside<CFG>(ih, iw)) continue;
            for (int k = 0; k < CG; k++) {
                acc = acc + x[((ih % ROWS) * CFG::iw + iw) * CFG::c + g * CG + k] * w[((i * CFG::kw + j) * CG + k) * CFG::f + f];
            }
        }
    }
    return acc;
}

// Every filter at output position (oh, ow), written to y[0..f).
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class CFG, int ROWS>
void conv_pixel(const in_T x[ROWS * CFG::iw * CFG::c], out_T y[CFG::f], const w_T w[], const b_T b[], int oh, int ow) {
#pragma HLS INLINE
    for (int f = 0; f < CFG::f; f++) {
        acc_T acc = conv_sum<in_T, acc_T, w_T, CFG, ROWS>(x, w, oh, ow, f, acc_T(b[f]));
        if (CFG::relu && acc < 0) acc = 0;
        y[f] = acc;
    }
}

// The same with a per-filter scale after the sum: y = (sum x*w) * s + b.
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, class CFG, int ROWS>
void conv_scaled_pixel(const in_T x[ROWS * CFG::iw * CFG::c], out_T y[CFG::f], const w_T w[], const b_T b[],
                       const s_T s[], int oh, int ow) {
#pragma HLS INLINE
    for (int f = 0; f < CFG::f; f++) {
        acc_T acc = conv_sum<in_T, acc_T, w_T, CFG, ROWS>(x, w, oh, ow, f, acc_T(0));
        if (CFG::relu && acc * s[f] + b[f] < 0) {
            y[f] = 0;
        } else {
            y[f] = acc * s[f] + b[f];
        }
    }
}

// Max or average over the window at (oh, ow) for every channel. The average is
// the exact sum divided by the number of unpadded positions, rounded once.
template <class in_T, class out_T, class acc_T, class DIV, class CFG, int ROWS>
void pool_pixel(const in_T x[ROWS * CFG::iw * CFG::c], out_T y[CFG::c], int oh, int ow) {
#pragma HLS INLINE
    for (int k = 0; k < CFG::c; k++) {
        in_T best = 0;
        acc_T total = 0;
        int count = 0;
        for (int i = 0; i < CFG::kh; i++) {
            for (int j = 0; j < CFG::kw; j++) {
                int ih = oh * CFG::sh + i - CFG::pt, iw = ow * CFG::sw + j - CFG::pl;
                if (!inside<CFG>(ih, iw)) continue;
                in_T v = x[((ih % ROWS) * CFG::iw + iw) * CFG::c + k];
                if (count == 0 || v > best) best = v;
                total += v;
                count++;
            }
        }
        if (CFG::average) {
            y[k] = divide<acc_T, out_T, DIV>(total, count);
        } else {
            y[k] = best;
        }
    }
}

template <class in_T, class out_T, class acc_T, class w_T, class b_T, class CFG>
void conv(const in_T x[CFG::ih * CFG::iw * CFG::c], out_T y[CFG::oh * CFG::ow * CFG::f], const w_T w[],
          const b_T b[]) {
#pragma HLS INLINE
    for (int oh = 0; oh < CFG::oh; oh++) {
        for (int ow = 0; ow < CFG::ow; ow++) {
            conv_pixel<in_T, out_T, acc_T, w_T, b_T, CFG, CFG::ih>(x, y + (oh * CFG::ow + ow) * CFG::f, w, b, oh, ow);
        }
    }
}

template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, class CFG>
void conv_scaled(const in_T x[CFG::ih * CFG::iw * CFG::c], out_T y[CFG::oh * CFG::ow * CFG::f], const w_T w[],
                 const b_T b[], const s_T s[]) {
#pragma HLS INLINE
    for (int oh = 0; oh < CFG::oh; oh++) {
        for (int ow = 0; ow < CFG::ow; ow++) {
            conv_scaled_pixel<in_T, out_T, acc_T, w_T, b_T, s_T, CFG, CFG::ih>(x, y + (oh * CFG::ow + ow) * CFG::f, w,
                                                                               b, s, oh, ow);
        }
    }
}

template <class in_T, class out_T, class acc_T, class DIV, class CFG>
void pool(const in_T x[CFG::ih * CFG::iw * CFG::c], out_T y[CFG::oh * CFG::ow * CFG::c]) {
#pragma HLS INLINE
    for (int oh = 0; oh < CFG::oh; oh++) {
        for (int ow = 0; ow < CFG::ow; ow++) {
            pool_pixel<in_T, out_T, acc_T, DIV, CFG, CFG::ih>(x, y + (oh * CFG::ow + ow) * CFG::c, oh, ow);
        }
    }
}

}  // namespace nnet

#endif
