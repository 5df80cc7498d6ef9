"""Peer items that fail on this branch today, grouped by cause: item id ->
"class N: reason" (N: issue 17's failure classes; "issue 15": sequence
layers; "new (...)": a failure none of them covers). test_peer.py marks each
xfail(strict=True), so a fix makes its items XPASS and fail until their
entries here are removed. "new (stated types)": an item converted with the
precision its hls4ml test states (config default_precision and per-layer
types), which fails for a reason of its own."""

KNOWN_FAILURES: dict[str, str] = {}  # none today: every item of the port passes
