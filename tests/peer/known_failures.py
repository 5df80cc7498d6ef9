"""Peer items that fail on this branch today: item id -> "class N: reason"
(N: issue 17's failure classes; "issue 15": sequence layers; "new: ..." a
failure none of them covers). test_peer.py marks each xfail(strict=True), so
a fix makes its item XPASS and fail until its entry here is removed."""

KNOWN_FAILURES: dict = {}
