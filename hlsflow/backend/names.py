"""Safe, unique C++ identifiers for the names a model brings: its tensors, its
layers and the model itself.

The generated code puts these identifiers beside names it writes itself:
fixed ones in the templates (locals such as `x`, `in0`, `chunk`, helpers such
as `argmax`), names derived from an identifier (`<id>_t`, `<id>_w`,
`<id>_copy<k>`), C++ keywords, and the macros and types of the headers it
includes. One allocator (Identifiers) gives every model name an identifier
that, with every name derived from it, is none of those and no other
model name's. The fixed and derived names are read from the templates
themselves (template_names), so a local added to a template is reserved
without a list to update. Comparisons ignore case: identifiers also name files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CPP_KEYWORDS = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class
compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield decltype
default delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline
int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template
this thread_local throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t
while xor xor_eq override final import module main
""".split())
# Lower-case macros and global names of the C/C++ and POSIX headers the
# generated code includes (upper-case names are refused as macro-like by rule).
LIBRARY_NAMES = frozenset("""
std nnet hls assert errno stdin stdout stderr offsetof setjmp longjmp va_arg va_start va_end va_copy va_list
unix linux i386 major minor makedev isdigit isxdigit isalpha isspace isnan isinf signbit fpclassify getc putc
getchar putchar environ
""".split())
# The standard library's `<x>_t` types, which a `<id>_t` typedef would redefine.
LIBRARY_TYPES = frozenset(f"{stem}_t" for stem in """
size ssize time clock ptrdiff intptr uintptr intmax uintmax int8 int16 int32 int64 uint8 uint16 uint32 uint64
int_least8 int_least16 int_least32 int_least64 uint_least8 uint_least16 uint_least32 uint_least64
int_fast8 int_fast16 int_fast32 int_fast64 uint_fast8 uint_fast16 uint_fast32 uint_fast64 off off64 pid uid
gid mode dev ino nlink blksize blkcnt fpos div ldiv lldiv float double max_align nullptr mbstate wint wctype
wctrans sig_atomic timer clockid locale pthread useconds suseconds socklen sa_family in_addr in_port key id
fsblkcnt fsfilcnt caddr daddr loff register u_int u_char u_short u_long fd_mask sigset
""".split())
# Library namespaces by prefix: ap_fixed, ap_int..., hls::, hlsflow's own helpers.
RESERVED_PREFIXES = ("ap_", "hls_", "hlsflow_")
ESCAPE = "l_"  # prefix of a model name that is unsafe as it is

_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
_WORD = re.compile(r"(?<![\w\x00])[A-Za-z_]\w*|(?<=\x00)\w+")
_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)", re.M)
_HOLE = "\x00"  # where a template expression was


@dataclass(frozen=True)
class TemplateNames:
    """Names the templates write themselves."""
    fixed: frozenset  # identifiers, as spelled
    macros: frozenset  # #define-d names, lower case (header guards are made by upper-casing)
    suffixes: frozenset  # `{{ x }}_t`: appended to an identifier (lower case)
    numbered: frozenset  # `in{{ k }}`, `{{ x }}_copy{{ k }}`: stems followed by a number (lower case)


def _literals(tag: str):
    return [m[1:-1] for m in re.findall(r'"[^"]*"|\'[^\']*\'', tag)]


def scan_template(text: str, code: bool = True) -> TemplateNames:
    """The names one template writes: identifiers in its C++ text (not in
    comments, strings, or after `::`, `.`, `->`), identifier-like string
    literals of the expressions it writes (`{{ }}`, `{% set %}`), and the
    fragments glued to expressions (suffixes after them, numbered stems before
    them). `code=False` (Makefile, tcl) keeps only the glued fragments."""
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    fixed, suffixes, numbered = set(), set(), set()
    macros = {m.lower() for m in _DEFINE.findall(text)}
    for tag in re.findall(r"\{\{.*?\}\}|\{%-?\s*set\b.*?%\}", text, flags=re.S):  # tags that write text
        for literal in _literals(tag):
            if re.fullmatch(r"_\w+", literal):
                suffixes.add(literal)
            elif code and re.fullmatch(r"[A-Za-z]\w*", literal):
                fixed.add(literal)
    text = re.sub(r"\{%.*?%\}", "\n", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", _HOLE, text, flags=re.S)
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S) if code else text
    text = _STRING.sub('""', text)
    for match in _WORD.finditer(text):
        word, start, end = match.group(), match.start(), match.end()
        after_hole = start > 0 and text[start - 1] == _HOLE
        before_hole = end < len(text) and text[end] == _HOLE
        if after_hole and word.startswith("_") and word != "_":
            suffixes.add(word)
            if before_hole:
                numbered.add(word)
        elif before_hole and not after_hole:
            numbered.add(word)
            if code:
                fixed.add(word)
        elif text[max(0, start - 2):start] == "##":  # token pasting in a macro: a suffix
            suffixes.add(word)
        elif code and not after_hole and not re.search(r"(::|\.|->)\s*$", text[max(0, start - 3):start]):
            fixed.add(word)
    low = lambda names: frozenset(n.lower() for n in names)  # noqa: E731
    return TemplateNames(frozenset(fixed), frozenset(macros), low(suffixes), low(numbered))


@lru_cache(maxsize=None)
def template_names(root: Path) -> TemplateNames:
    """The union over the project templates under `root` (the C++ ones for
    identifiers, all for suffixes) and the macros of the layer headers."""
    parts = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        names = scan_template(path.read_text(), code=path.parent.name in ("firmware", "tb"))
        if path.parent.name == "nnet":  # in namespace nnet: only its macros are global
            names = TemplateNames(frozenset(), names.macros, frozenset(), frozenset())
        parts.append(names)
    return TemplateNames(*(frozenset().union(*(getattr(p, f) for p in parts))
                           for f in ("fixed", "macros", "suffixes", "numbered")))


def cpp_identifier(name: str) -> str:
    """A C++ identifier resembling `name`: letters, digits and single underscores,
    not starting with a digit or an underscore (nor ending with one)."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name)
    ident = re.sub(r"__+", "_", ident).strip("_") or "layer"
    return ESCAPE + ident if ident[0].isdigit() else ident


def _stem(name: str) -> str | None:
    """`name` without its trailing digits, if it has any."""
    stem = name.rstrip("0123456789")
    return stem if stem != name else None


class Identifiers:
    """Allocates identifiers. Claiming X also claims X + s for every suffix s
    and the numbered family X + n + <digits> for every numbered stem n."""

    def __init__(self, names: TemplateNames, suffixes=(), numbered=(), reserved=()):
        self.suffixes = sorted({""} | names.suffixes | {s.lower() for s in suffixes})
        self.numbered = sorted(names.numbered | {s.lower() for s in numbered})
        self.fixed = CPP_KEYWORDS | LIBRARY_NAMES | LIBRARY_TYPES | names.fixed  # C++ names: case matters
        self.taken = set(names.macros) | {r.lower() for r in reserved}  # claimed, guards, files: case does not
        # a fixed name may get a suffix too (`l` -> `l_out` in the testbench's stream call)
        self.taken |= {(f + s).lower() for f in names.fixed for s in self.suffixes}
        # stems of numbered families (fixed `in<k>`, and X + `_copy` for every claimed X)
        self.families = {n for n in self.numbered if not n.startswith("_")}
        self.stems = {s for s in map(_stem, self.taken | {f.lower() for f in self.fixed}) if s}
        self.ids: dict = {}

    def safe(self, ident: str) -> bool:
        """Whether `ident` may be used as it is: not a fixed name, not macro-like
        (no lower-case letter), not in a library's namespace."""
        return (ident not in self.fixed and any(c.islower() for c in ident)
                and not ident.lower().startswith(RESERVED_PREFIXES))

    def _free(self, ident: str) -> bool:
        for suffix in self.suffixes:
            name = ident + suffix
            low = name.lower()
            if name in self.fixed or low in self.taken or _stem(low) in self.families:
                return False
        low = ident.lower()
        return all(low + n not in self.families and low + n not in self.stems
                   for n in self.numbered if n.startswith("_"))

    def claim(self, name: str, key=None) -> str:
        """The identifier of `name` (the same one for the same name and key)."""
        key = name if key is None else key
        if key in self.ids:
            return self.ids[key]
        base = cpp_identifier(name)
        base = base if self.safe(base) else ESCAPE + base
        ident, k = base, 2
        while not self._free(ident):
            ident, k = f"{base}_{k}", k + 1
        low = ident.lower()
        for suffix in self.suffixes:
            self.taken.add(low + suffix)
            stem = _stem(low + suffix)
            if stem:
                self.stems.add(stem)
        self.families.update(low + n for n in self.numbered if n.startswith("_"))
        self.ids[key] = ident
        return ident
