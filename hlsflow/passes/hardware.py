"""Per-layer implementation choices: strategy (latency / resource) and reuse factor.

Latency: every multiplication has its own multiplier, fully unrolled (II = 1).
Resource: each multiplier is reused `reuse_factor` times, so the layer's
multiplications must split evenly: the reuse factor must divide their count.
"""
from hlsflow.errors import OptionError
from hlsflow.ir import Graph

STRATEGIES = ("latency", "resource")


def multiplications(graph: Graph, node) -> int:
    """Multiplications a node performs per inference (0 for ops without weights)."""
    if node.op == "dense":
        return int(node.params["weight"].size)
    return 0


def valid_reuse_factors(count: int) -> list[int]:
    return [r for r in range(1, count + 1) if count % r == 0]


def assign_hardware(graph: Graph, config) -> Graph:
    """Record strategy and reuse factor on every node with weights, validated."""
    layers = config.get("layers", {})
    for node in graph.nodes:
        count = multiplications(graph, node)
        if not count:
            continue
        own = layers.get(node.name, {})
        strategy = own.get("strategy", config["strategy"])
        reuse = own.get("reuse_factor", config["reuse_factor"])
        where = f"layer {node.name!r}" if "reuse_factor" in own or "strategy" in own else "--reuse-factor/--strategy"
        if strategy not in STRATEGIES:
            raise OptionError(f"{where}: strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
        if not isinstance(reuse, int) or isinstance(reuse, bool) or reuse < 1:
            raise OptionError(f"{where}: reuse factor {reuse!r} must be a positive integer")
        if strategy == "latency" and reuse != 1:
            strategy = "resource"
        if count % reuse:
            choices = valid_reuse_factors(count)
            shown = ", ".join(map(str, choices[:12])) + (", ..." if len(choices) > 12 else "")
            raise OptionError(f"layer {node.name!r}: reuse factor {reuse} does not divide its {count} "
                              f"multiplications (valid: {shown})")
        node.attrs["strategy"] = strategy
        node.attrs["reuse_factor"] = reuse
    return graph
