// Fast C simulation build (not used by the HLS tools): the firmware is
// compiled in the same translation unit as the testbench. Values cross
// between double and ap_fixed through their integer mantissas (every value
// here lies on its type's grid, so this is exact), not through ap_fixed's
// double constructor and to_double(): those cost g++ ~0.1 s per distinct type.
// Constant parameter arrays are stored as exact doubles and converted once at
// load time, instead of one inlined ap_fixed constructor per value in a static
// initializer (which costs g++ seconds per thousand values).
#ifndef HLSFLOW_CSIM_H_
#define HLSFLOW_CSIM_H_

#include <cmath>

#include "ap_fixed.h"

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
constexpr bool hlsflow_signed(const ap_fixed_base<W, I, S, Q, O, N> &) { return S; }

// v = x for an x on T's grid.
template <class T>
inline void hlsflow_set(T &v, double x) {
    v.setBits((ap_ulong)(long long)std::ldexp(x, T::width - T::iwidth));
}

// v.to_double(), exact for widths up to 53.
template <class T>
inline double hlsflow_get(const T &v) {
    const int unused = 64 - T::width;
    const ap_ulong high = v.bits_to_uint64() << unused;
    const double mantissa = hlsflow_signed(v) ? (double)((long long)high >> unused) : (double)(high >> unused);
    return std::ldexp(mantissa, T::iwidth - T::width);
}

template <class T, int N>
static const T *hlsflow_from_doubles(const double (&values)[N]) {
    T *data = new T[N];
    for (int i = 0; i < N; i++) hlsflow_set(data[i], values[i]);
    return data;
}

// The values array is constant-initialized, so it is ready before the
// (dynamic) initialization of the pointer that converts it. It lives in a
// namespace of its own: the macro makes no new global name.
#define HLSFLOW_WEIGHTS(T, name, n)                                                 \
    namespace hlsflow_values {                                                      \
    extern const double name[n];                                                    \
    }                                                                               \
    static const T *const name = hlsflow_from_doubles<T, n>(hlsflow_values::name); \
    const double hlsflow_values::name[n]

#endif
