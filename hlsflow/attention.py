"""The core of MultiHeadAttention in fixed point, the emulator of `attention`
nodes (bit-exact with nnet_attention.h).

For every head h and query step t: the scores s_u = sum_d q[t,h,d] k[u,h,d]
(exact); the softmax of s_u / sqrt(key_dim) as hlsflow's softmax computes it:
e_u = exp_table[(max(s) - s_u) rounded to gap_type, times factor (1/sqrt(key_dim)
rounded to factor_type), cast to index_type], the exact sum of the e_u, 1/sum
from inv_table, p_u = e_u / sum cast to prob_type; then sum_u p_u v[u,h,:]
(exact), cast to the output type. Keras computes this in float32 (never
bit-exact); the types are calibrated like a softmax's.
"""
import numpy as np

from hlsflow.fixed import quantize, quantize_raw


def emulate_attention(graph, node, q, k, v):
    a, p = node.attrs, node.params
    n, heads, t_steps, s_steps = len(q), a["heads"], a["query_steps"], a["key_steps"]
    q = q.reshape(n, t_steps, heads, a["key_dim"])
    k = k.reshape(n, s_steps, heads, a["key_dim"])
    v = v.reshape(n, s_steps, heads, a["value_dim"])
    scores = np.einsum("nthd,nshd->nhts", q, k)  # exact: every partial sum fits 53 bits
    gap = quantize(scores.max(axis=-1, keepdims=True) - scores, a["gap_type"])
    e = p["exp_table"][quantize_raw(gap * a["factor"], a["index_type"]).astype(np.int64)]
    total = quantize(e.sum(axis=-1, keepdims=True), a["sum_type"])
    inv = p["inv_table"][quantize_raw(total, a["inv_index_type"]).astype(np.int64)]
    prob = quantize(e * inv, a["prob_type"])
    out = np.einsum("nhts,nshd->nthd", prob, v)
    return quantize(out, graph.tensors[node.outputs[0]].type).reshape((n,) + graph.tensors[node.outputs[0]].shape)
