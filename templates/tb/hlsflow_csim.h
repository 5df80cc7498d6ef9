// Fast C simulation build (not used by the HLS tools): the firmware is
// compiled in the same translation unit as the testbench, and each constant
// parameter array is stored as exact doubles and converted to its ap_fixed
// type once at load time, instead of one inlined ap_fixed constructor per
// value in a static initializer (which costs g++ seconds per thousand values).
#ifndef HLSFLOW_CSIM_H_
#define HLSFLOW_CSIM_H_

#include "ap_fixed.h"

template <class T, int N>
static const T *hlsflow_from_doubles(const double (&values)[N]) {
    T *data = new T[N];
    for (int i = 0; i < N; i++) data[i] = values[i];
    return data;
}

// The values array is constant-initialized, so it is ready before the
// (dynamic) initialization of the pointer that converts it.
#define HLSFLOW_WEIGHTS(T, name, n)                                       \
    extern const double name##_values[n];                                 \
    static const T *const name = hlsflow_from_doubles<T, n>(name##_values); \
    const double name##_values[n]

#endif
