// hlsflow layer library: the dataflow forms of the layers, reading and writing
// hls::stream<nnet::array> beats. A sliding-window layer scans its input,
// padded, in raster order and computes an output pixel as soon as its window
// is complete:
// - by pixels (io_stream: one pixel of channels per beat): a window register
//   of khs x kws pixels and, between its rows, delay lines of pw - kws pixels
//   (shift registers: shifted every pixel, read and written only at their
//   ends). One pipelined loop over input pixels, RF clocks each (II = 1 per
//   clock), emits an output pixel whenever a window completes: reading and
//   computing overlap.
// - by rows (io_parallel: one row per beat): the last khs padded rows in
//   registers; an output row is computed in `steps` groups of pf pixels (pf
//   kernels side by side, RF clocks per group) from a copy of those rows that
//   shifts left by pf * sw columns per group.
// Every address is a constant once the channel, tap and pixel loops are
// unrolled; the positions in the scan are counters (no division or remainder).
// The arithmetic is the kernel of nnet_dense.h and the windows of nnet_conv.h,
// so every io type gives the same bits. Stale values left from the previous
// input only ever fill windows that are not output.
#ifndef NNET_STREAM_H_
#define NNET_STREAM_H_

#include "hls_stream.h"
#include "nnet_array.h"
#include "nnet_conv.h"

namespace nnet {

// ---------------------------------------------------------------- by pixels

// Position of a pixel scan over the padded input, and the output pixel its window completes.
struct pixel_scan {
    int row, col;            // padded position of the current pixel
    int row_next, col_next;  // next padded row / column where a window ends
    int oh, ow;              // output rows done, output pixels done in this row
    int ih0, iw0;            // input row / column of the next output pixel's first tap
    bool row_ok, col_ok;
};

template <class CFG>
void pixel_scan_start(pixel_scan &p) {
#pragma HLS INLINE
    p.row = 0;
    p.col = 0;
    p.row_next = CFG::khs - 1;
    p.col_next = CFG::kws - 1;
    p.oh = 0;
    p.ow = 0;
    p.ih0 = -CFG::pt;
    p.iw0 = -CFG::pl;
    p.row_ok = false;
    p.col_ok = false;
}

// Whether the current pixel is inside the input (else it is padding: zero, not read).
template <class CFG>
bool pixel_scan_inside(const pixel_scan &p) {
#pragma HLS INLINE
    return p.row >= CFG::pt && p.row < CFG::pt + CFG::ih && p.col >= CFG::pl && p.col < CFG::pl + CFG::iw;
}

// Whether the window ending at the current pixel is an output pixel's.
template <class CFG>
bool pixel_scan_window(pixel_scan &p) {
#pragma HLS INLINE
    if (p.col == 0) {
        p.row_ok = p.row == p.row_next && p.oh < CFG::oh;
        p.col_next = CFG::kws - 1;
        p.ow = 0;
        p.iw0 = -CFG::pl;
    }
    p.col_ok = p.col == p.col_next && p.ow < CFG::ow;
    return p.row_ok && p.col_ok;
}

// Move on to the next pixel.
template <class CFG>
void pixel_scan_next(pixel_scan &p) {
#pragma HLS INLINE
    if (p.col_ok) {
        p.col_next += CFG::sw;
        p.ow++;
        p.iw0 += CFG::sw;
    }
    if (p.col == CFG::pw - 1) {
        p.col = 0;
        if (p.row_ok) {
            p.row_next += CFG::sh;
            p.oh++;
            p.ih0 += CFG::sh;
        }
        p.row++;
    } else {
        p.col++;
    }
}

// Shift pixel px into the window: win[i][j] is padded row (current - khs + 1 + i),
// column (current - kws + 1 + j). The pixel leaving row i + 1 on the left
// enters row i on the right pw - kws pixels later, through delay line i.
template <class T, class CFG>
void window_push(T win[CFG::khs * CFG::kws * CFG::c], T lines[CFG::lines][CFG::line], const array<T, CFG::c> &px) {
#pragma HLS INLINE
    const int C = CFG::c, KWS = CFG::kws, KHS = CFG::khs;
    const bool delayed = CFG::pw > CFG::kws;
    T leaving[KHS * C], entering[KHS * C];
#pragma HLS ARRAY_PARTITION variable=leaving complete
#pragma HLS ARRAY_PARTITION variable=entering complete
    for (int i = 0; i < KHS; i++) {
#pragma HLS UNROLL
        for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
            leaving[i * C + c] = win[i * KWS * C + c];
            if (i == KHS - 1) {
                entering[i * C + c] = px[c];
            } else if (delayed) {
                entering[i * C + c] = lines[i * C + c][0];
            } else {
                entering[i * C + c] = win[(i + 1) * KWS * C + c];
            }
        }
    }
    for (int i = 0; i < KHS; i++) {
#pragma HLS UNROLL
        for (int j = 0; j < KWS - 1; j++) {
#pragma HLS UNROLL
            for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
                win[(i * KWS + j) * C + c] = win[(i * KWS + j + 1) * C + c];
            }
        }
        for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
            win[(i * KWS + KWS - 1) * C + c] = entering[i * C + c];
        }
    }
    if (delayed) {
        for (int i = 0; i < KHS - 1; i++) {
#pragma HLS UNROLL
            for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
                for (int k = 0; k < CFG::line - 1; k++) {
#pragma HLS UNROLL
                    lines[i * C + c][k] = lines[i * C + c][k + 1];
                }
                lines[i * C + c][CFG::line - 1] = leaving[(i + 1) * C + c];
            }
        }
    }
}

// The pixel's channels from the stream, or zeros in the padding.
template <class T, class CFG>
void pixel_read(hls::stream<array<T, CFG::c> > &x, const pixel_scan &p, array<T, CFG::c> &px) {
#pragma HLS INLINE
    if (pixel_scan_inside<CFG>(p)) {
        px = x.read();
    } else {
        for (int c = 0; c < CFG::c; c++) {
#pragma HLS UNROLL
            px[c] = 0;
        }
    }
}

// Convolution, one pixel per beat: ph * pw input pixels (padding included), RF clocks each.
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, class CFG>
void conv_pixels(hls::stream<array<in_T, CFG::c> > &x, hls::stream<array<out_T, CFG::f> > &y, const w_T w[],
                 const b_T b[], const s_T *s) {
#pragma HLS INLINE
    in_T win[CFG::khs * CFG::kws * CFG::c];
#pragma HLS ARRAY_PARTITION variable=win complete
    in_T lines[CFG::lines][CFG::line];
#pragma HLS ARRAY_PARTITION variable=lines complete dim=1
    in_T kin[CFG::groups * CFG::inputs];
#pragma HLS ARRAY_PARTITION variable=kin complete
    acc_T acc[CFG::groups * CFG::bo];
#pragma HLS ARRAY_PARTITION variable=acc complete
    out_T out[CFG::f];
#pragma HLS ARRAY_PARTITION variable=out complete
    pixel_scan p;
    pixel_scan_start<CFG>(p);
    bool valid = false;
    int t = 0, ri = 0, ro = 0;
    for (int clock = 0; clock < CFG::ph * CFG::pw * CFG::reuse; clock++) {
#pragma HLS PIPELINE II=1
        if (t == 0) {
            array<in_T, CFG::c> px;
            pixel_read<in_T, CFG>(x, p, px);
            window_push<in_T, CFG>(win, lines, px);
            valid = pixel_scan_window<CFG>(p);
            conv_load<in_T, CFG>(kin, win, 0, CFG::dh * CFG::kws * CFG::c, CFG::dw * CFG::c);
        }
        kernel_clock<in_T, acc_T, w_T, CFG>(kin, acc, w, t, ri == 0);
        if (ri == CFG::r_in - 1) kernel_finish<acc_T, out_T, b_T, s_T, CFG>(acc, out, b, s, ro);
        if (CFG::r_in > 1) kernel_rotate<in_T, CFG>(kin);
        if (t == CFG::reuse - 1) {
            if (valid) {
                array<out_T, CFG::f> pixel;
                for (int k = 0; k < CFG::f; k++) {
#pragma HLS UNROLL
                    pixel[k] = out[k];
                }
                y.write(pixel);
            }
            pixel_scan_next<CFG>(p);
        }
        if (ri == CFG::r_in - 1) {
            ri = 0;
            ro = ro == CFG::r_out - 1 ? 0 : ro + 1;
        } else {
            ri++;
        }
        t = t == CFG::reuse - 1 ? 0 : t + 1;
    }
}

// Max or average pooling, one pixel per beat: ph * pw input pixels, one clock each.
template <class in_T, class out_T, class acc_T, class DIV, class CFG>
void pool_pixels(hls::stream<array<in_T, CFG::c> > &x, hls::stream<array<out_T, CFG::c> > &y) {
#pragma HLS INLINE
    in_T win[CFG::khs * CFG::kws * CFG::c];
#pragma HLS ARRAY_PARTITION variable=win complete
    in_T lines[CFG::lines][CFG::line];
#pragma HLS ARRAY_PARTITION variable=lines complete dim=1
    pixel_scan p;
    pixel_scan_start<CFG>(p);
    for (int clock = 0; clock < CFG::ph * CFG::pw; clock++) {
#pragma HLS PIPELINE II=1
        array<in_T, CFG::c> px;
        pixel_read<in_T, CFG>(x, p, px);
        window_push<in_T, CFG>(win, lines, px);
        if (pixel_scan_window<CFG>(p)) {
            out_T out[CFG::c];
#pragma HLS ARRAY_PARTITION variable=out complete
            pool_window<in_T, out_T, acc_T, DIV, CFG>(win, 0, CFG::dh * CFG::kws * CFG::c, CFG::dw * CFG::c, p.ih0,
                                                         p.iw0, out);
            array<out_T, CFG::c> pixel;
            for (int k = 0; k < CFG::c; k++) {
#pragma HLS UNROLL
                pixel[k] = out[k];
            }
            y.write(pixel);
        }
        pixel_scan_next<CFG>(p);
    }
}

// ------------------------------------------------------------------ by rows

// Position of a row scan over the padded input and of the output row being computed.
struct row_scan {
    int row;       // next padded input row
    int row_next;  // padded row that completes the next output row
    int oh, ih0;   // output rows done; input row of the next output row's first tap
    int step, iw0; // group of pf pixels being computed; input column of its first tap
    bool busy;     // computing an output row (else reading rows)
};

template <class CFG>
void row_scan_start(row_scan &r) {
#pragma HLS INLINE
    r.row = 0;
    r.row_next = CFG::khs - 1;
    r.oh = 0;
    r.ih0 = -CFG::pt;
    r.step = 0;
    r.iw0 = -CFG::pl;
    r.busy = false;
}

// Read padded row r.row (zeros in the padding) under the last khs rows; when it
// completes an output row, copy the rows into the window register `win`.
template <class T, class CFG>
void row_push(hls::stream<array<T, CFG::iw * CFG::c> > &x, T rows[CFG::khs * CFG::pwx * CFG::c],
              T win[CFG::khs * CFG::pwx * CFG::c], row_scan &r) {
#pragma HLS INLINE
    const int W = CFG::pwx * CFG::c;
    const bool in = r.row >= CFG::pt && r.row < CFG::pt + CFG::ih;
    array<T, CFG::iw * CFG::c> beat;
    if (in) beat = x.read();
    for (int i = 0; i < CFG::khs - 1; i++) {
#pragma HLS UNROLL
        for (int k = 0; k < W; k++) {
#pragma HLS UNROLL
            rows[i * W + k] = rows[(i + 1) * W + k];
        }
    }
    for (int col = 0; col < CFG::pwx; col++) {
#pragma HLS UNROLL
        for (int c = 0; c < CFG::c; c++) {
#pragma HLS UNROLL
            if (in && col >= CFG::pl && col < CFG::pl + CFG::iw) {
                rows[(CFG::khs - 1) * W + col * CFG::c + c] = beat[(col - CFG::pl) * CFG::c + c];
            } else {
                rows[(CFG::khs - 1) * W + col * CFG::c + c] = 0;
            }
        }
    }
    if (r.row == r.row_next && r.oh < CFG::oh) {
        for (int k = 0; k < CFG::khs * W; k++) {
#pragma HLS UNROLL
            win[k] = rows[k];
        }
        r.busy = true;
        r.step = 0;
        r.iw0 = -CFG::pl;
    }
    r.row++;
}

// After a group of pf output pixels (values `out`, pf x n): shift them into the
// output row `line`, the window register left by pf * sw columns, and write the
// row when it is complete.
template <class T, class out_T, int N, class CFG>
void row_step(T win[CFG::khs * CFG::pwx * CFG::c], out_T line[CFG::steps * CFG::pf * N],
              const out_T out[CFG::pf * N], hls::stream<array<out_T, CFG::ow * N> > &y, row_scan &r) {
#pragma HLS INLINE
    const int G = CFG::pf * N, S = CFG::pf * CFG::sw;
    for (int k = 0; k < (CFG::steps - 1) * G; k++) {
#pragma HLS UNROLL
        line[k] = line[k + G];
    }
    for (int k = 0; k < G; k++) {
#pragma HLS UNROLL
        line[(CFG::steps - 1) * G + k] = out[k];
    }
    for (int i = 0; i < CFG::khs; i++) {
#pragma HLS UNROLL
        for (int k = 0; k < (CFG::pwx - S) * CFG::c; k++) {
#pragma HLS UNROLL
            win[i * CFG::pwx * CFG::c + k] = win[i * CFG::pwx * CFG::c + k + S * CFG::c];
        }
    }
    r.iw0 += S;
    if (r.step == CFG::steps - 1) {
        array<out_T, CFG::ow * N> row;
        for (int k = 0; k < CFG::ow * N; k++) {
#pragma HLS UNROLL
            row[k] = line[k];
        }
        y.write(row);
        r.busy = false;
        r.row_next += CFG::sh;
        r.oh++;
        r.ih0 += CFG::sh;
    } else {
        r.step++;
    }
}

// Convolution, one row per beat: ph padded rows read, and for each output row
// `steps` groups of pf pixels, RF clocks per group.
template <class in_T, class out_T, class acc_T, class w_T, class b_T, class s_T, class CFG>
void conv_rows(hls::stream<array<in_T, CFG::iw * CFG::c> > &x, hls::stream<array<out_T, CFG::ow * CFG::f> > &y,
               const w_T w[], const b_T b[], const s_T *s) {
#pragma HLS INLINE
    in_T rows[CFG::khs * CFG::pwx * CFG::c], win[CFG::khs * CFG::pwx * CFG::c];
#pragma HLS ARRAY_PARTITION variable=rows complete
#pragma HLS ARRAY_PARTITION variable=win complete
    in_T kin[CFG::pf][CFG::groups * CFG::inputs];
#pragma HLS ARRAY_PARTITION variable=kin complete dim=0
    acc_T acc[CFG::pf][CFG::groups * CFG::bo];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
    out_T out[CFG::pf * CFG::f], line[CFG::steps * CFG::pf * CFG::f];
#pragma HLS ARRAY_PARTITION variable=out complete
#pragma HLS ARRAY_PARTITION variable=line complete
    row_scan r;
    row_scan_start<CFG>(r);
    int t = 0, ri = 0, ro = 0;
    for (int clock = 0; clock < CFG::ph + CFG::oh * CFG::steps * CFG::reuse; clock++) {
#pragma HLS PIPELINE II=1
        if (!r.busy) {
            row_push<in_T, CFG>(x, rows, win, r);
        } else {
            for (int q = 0; q < CFG::pf; q++) {
#pragma HLS UNROLL
                if (t == 0) {
                    conv_load<in_T, CFG>(kin[q], win, q * CFG::sw * CFG::c, CFG::dh * CFG::pwx * CFG::c,
                                         CFG::dw * CFG::c);
                }
                kernel_clock<in_T, acc_T, w_T, CFG>(kin[q], acc[q], w, t, ri == 0);
                if (ri == CFG::r_in - 1) kernel_finish<acc_T, out_T, b_T, s_T, CFG>(acc[q], out + q * CFG::f, b, s, ro);
                if (CFG::r_in > 1) kernel_rotate<in_T, CFG>(kin[q]);
            }
            if (t == CFG::reuse - 1) row_step<in_T, out_T, CFG::f, CFG>(win, line, out, y, r);
            if (ri == CFG::r_in - 1) {
                ri = 0;
                ro = ro == CFG::r_out - 1 ? 0 : ro + 1;
            } else {
                ri++;
            }
            t = t == CFG::reuse - 1 ? 0 : t + 1;
        }
    }
}

// Max or average pooling, one row per beat: ph padded rows read, and for each
// output row `steps` groups of pf pixels, one clock per group.
template <class in_T, class out_T, class acc_T, class DIV, class CFG>
void pool_rows(hls::stream<array<in_T, CFG::iw * CFG::c> > &x, hls::stream<array<out_T, CFG::ow * CFG::c> > &y) {
#pragma HLS INLINE
    in_T rows[CFG::khs * CFG::pwx * CFG::c], win[CFG::khs * CFG::pwx * CFG::c];
#pragma HLS ARRAY_PARTITION variable=rows complete
#pragma HLS ARRAY_PARTITION variable=win complete
    out_T out[CFG::pf * CFG::c], line[CFG::steps * CFG::pf * CFG::c];
#pragma HLS ARRAY_PARTITION variable=out complete
#pragma HLS ARRAY_PARTITION variable=line complete
    row_scan r;
    row_scan_start<CFG>(r);
    for (int clock = 0; clock < CFG::ph + CFG::oh * CFG::steps; clock++) {
#pragma HLS PIPELINE II=1
        if (!r.busy) {
            row_push<in_T, CFG>(x, rows, win, r);
        } else {
            for (int q = 0; q < CFG::pf; q++) {
#pragma HLS UNROLL
                pool_window<in_T, out_T, acc_T, DIV, CFG>(win, q * CFG::sw * CFG::c, CFG::dh * CFG::pwx * CFG::c,
                                                             CFG::dw * CFG::c, r.ih0, r.iw0 + q * CFG::sw,
                                                             out + q * CFG::c);
            }
            row_step<in_T, out_T, CFG::c, CFG>(win, line, out, y, r);
        }
    }
}

// ------------------------------------------------------------ other forms

// Global max or average pooling over beats of P pixels: a running maximum or
// exact sum per channel, one beat per clock.
template <class in_T, class out_T, class acc_T, class DIV, class CFG, int P>
void pool_global(hls::stream<array<in_T, P * CFG::c> > &x, hls::stream<array<out_T, CFG::c> > &y) {
#pragma HLS INLINE
    in_T best[CFG::c];
#pragma HLS ARRAY_PARTITION variable=best complete
    acc_T total[CFG::c];
#pragma HLS ARRAY_PARTITION variable=total complete
    for (int k = 0; k < CFG::ih * CFG::iw / P; k++) {
#pragma HLS PIPELINE II=1
        array<in_T, P * CFG::c> beat = x.read();
        for (int c = 0; c < CFG::c; c++) {
#pragma HLS UNROLL
            for (int p = 0; p < P; p++) {
#pragma HLS UNROLL
                const bool first = k == 0 && p == 0;
                in_T v = beat[p * CFG::c + c];
                if (first || v > best[c]) best[c] = v;
                total[c] = (first ? acc_T(0) : total[c]) + v;
            }
        }
    }
    array<out_T, CFG::c> pixel;
    for (int c = 0; c < CFG::c; c++) {
#pragma HLS UNROLL
        if (CFG::average) {
            pixel[c] = divide<acc_T, out_T, DIV>(total[c], CFG::ih * CFG::iw);
        } else {
            pixel[c] = best[c];
        }
    }
    y.write(pixel);
}

// The same N values (cast to out_T) from beats of BI into beats of BO, through a
// shift register of L = lcm(BI, BO) values.
template <class in_T, class out_T, int N, int BI, int BO, int L>
void regroup(hls::stream<array<in_T, BI> > &x, hls::stream<array<out_T, BO> > &y) {
#pragma HLS INLINE
    for (int chunk = 0; chunk < N / L; chunk++) {
        out_T buffer[L];
#pragma HLS ARRAY_PARTITION variable=buffer complete
        for (int k = 0; k < L / BI; k++) {
#pragma HLS PIPELINE II=1
            array<in_T, BI> beat = x.read();
            for (int i = 0; i < L - BI; i++) {
#pragma HLS UNROLL
                buffer[i] = buffer[i + BI];
            }
            for (int i = 0; i < BI; i++) {
#pragma HLS UNROLL
                buffer[L - BI + i] = beat[i];
            }
        }
        for (int k = 0; k < L / BO; k++) {
#pragma HLS PIPELINE II=1
            array<out_T, BO> beat;
            for (int i = 0; i < BO; i++) {
#pragma HLS UNROLL
                beat[i] = buffer[i];
            }
            for (int i = 0; i < L - BO; i++) {
#pragma HLS UNROLL
                buffer[i] = buffer[i + BO];
            }
            y.write(beat);
        }
    }
}

}  // namespace nnet

#endif
