"""Layer names become safe, unique C++ identifiers."""
import re

from hlsflow.backend.names import cpp_identifier, unique_identifiers


def test_hostile_names_become_identifiers():
    for name in ["dense 1", "1st", "class", "a;b\"c\n", "../etc/passwd", "", "ap_fixed", "__x__"]:
        ident = cpp_identifier(name)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident), (name, ident)
        assert ident not in ("class", "ap_fixed")


def test_clashes_after_cleaning_are_resolved():
    ids = unique_identifiers(["a-b", "a_b", "A_B", "a.b"], derived=("", "_t"))
    assert len({i.lower() for i in ids.values()}) == 4


def test_derived_names_do_not_collide():
    ids = unique_identifiers(["fc1", "fc1_w"], derived=("", "_w"))
    assert ids["fc1"] == "fc1" and ids["fc1_w"] != "fc1_w"
