"""Graph passes, run in the order of PASSES; each is `pass(graph, config) -> graph`."""
from hlsflow.passes import fold, hardware, precision, scales

PASSES = [
    fold.fold_batchnorm,
    fold.fuse_activations,
    fold.absorb_input_quantizers,
    scales.factor_channel_scales,
    precision.assign_types,
    hardware.assign_hardware,
]


def run_passes(graph, config=None, until=None):
    """Run the passes of PASSES on the graph, in order (all, or those before `until`)."""
    config = precision.with_defaults(config)
    for step in PASSES:
        if step is until:
            break
        graph = step(graph, config)
    return graph
