// hlsflow layer library: the beat of a stream, nnet::array<T, N> (N values that
// move together: one pixel's channels in io_stream, one row in io_parallel's
// dataflow, a whole vector for rank-1 tensors), and a tensor packed into beats
// and unpacked (the testbench uses them too).
#ifndef NNET_ARRAY_H_
#define NNET_ARRAY_H_

#include "hls_stream.h"

namespace nnet {

template <class T, int N>
struct array {
    T data[N];
    T &operator[](int i) {
#pragma HLS INLINE
        return data[i];
    }
    const T &operator[](int i) const {
#pragma HLS INLINE
        return data[i];
    }
};

// A tensor of N values into N / B beats, and back; every index a constant once
// the loop is unrolled (the beats are written or read one per clock).
template <class T, int N, int B>
void pack(const T x[N], hls::stream<array<T, B> > &s) {
#pragma HLS INLINE
    for (int k = 0; k < N / B; k++) {
#pragma HLS UNROLL
        array<T, B> beat;
        for (int i = 0; i < B; i++) {
#pragma HLS UNROLL
            beat[i] = x[k * B + i];
        }
        s.write(beat);
    }
}

template <class T, int N, int B>
void unpack(hls::stream<array<T, B> > &s, T x[N]) {
#pragma HLS INLINE
    for (int k = 0; k < N / B; k++) {
#pragma HLS UNROLL
        array<T, B> beat = s.read();
        for (int i = 0; i < B; i++) {
#pragma HLS UNROLL
            x[k * B + i] = beat[i];
        }
    }
}

}  // namespace nnet

#endif
