"""Safe, unique C++ identifiers for layer and tensor names."""
import re

CPP_KEYWORDS = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char16_t char32_t class
compl const constexpr const_cast continue decltype default delete do double dynamic_cast else enum
explicit export extern false float for friend goto if inline int long mutable namespace new noexcept
not not_eq nullptr operator or or_eq private protected public register reinterpret_cast return short
signed sizeof static static_assert static_cast struct switch template this thread_local throw true try
typedef typeid typename union unsigned using virtual void volatile wchar_t while xor xor_eq main nnet
std logits
""".split())


def cpp_identifier(name: str) -> str:
    """A C++ identifier resembling `name`: letters, digits and underscores only."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "layer"
    ident = re.sub(r"__+", "_", ident)
    if ident[0].isdigit() or ident in CPP_KEYWORDS or ident.lower().startswith("ap_"):
        ident = "l_" + ident
    return ident


def unique_identifiers(names, reserved=(), derived=("",)) -> dict:
    """Map each name to a distinct safe identifier. An identifier X also claims
    X + s for every s in `derived` (names the generated code builds from it);
    numeric suffixes resolve clashes, compared case-insensitively (file names)."""
    taken = {r.lower() for r in reserved}
    result = {}
    for name in names:
        base = cpp_identifier(name)
        ident, k = base, 2
        while any((ident + s).lower() in taken for s in derived):
            ident, k = f"{base}_{k}", k + 1
        taken.update((ident + s).lower() for s in derived)
        result[name] = ident
    return result
