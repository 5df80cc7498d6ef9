"""Location of the ap_types headers (ap_fixed.h, ap_int.h) shipped by hls4ml,
and the copy of them that hlsflow's own csim builds use."""
import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from hlsflow.backend.cache import cache_dir
from hlsflow.errors import BuildError


def ap_types_dir() -> Path:
    """The ap_types folder of the installed hls4ml package (found without importing it)."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("the ap_types headers come from the hls4ml package, which is not installed (pip install hls4ml)")
    path = Path(next(iter(spec.submodule_search_locations))) / "templates" / "vivado" / "ap_types"
    if not (path / "ap_fixed.h").is_file():
        raise BuildError(f"{path}: ap_fixed.h not found in the installed hls4ml package")
    return path


# ap_private::clearUnusedBits() is declared volatile (so that volatile objects
# can call it), which makes every access to the value inside it volatile: g++
# then sends every intermediate of every ap_fixed operation through memory.
_VOLATILE_CLEAR = re.compile(r"(  INLINE void clearUnusedBits\(void\)) volatile\n((?:.*\n)*?  \}\n)")


@lru_cache(maxsize=None)
def _patched_ap_private() -> tuple[str, str] | None:
    """(the patched ap_private.h, a digest of all the csim headers), or None."""
    source = ap_types_dir()
    patched, count = _VOLATILE_CLEAR.subn(lambda m: f"{m[1]}\n{m[2]}\n{m[0]}",
                                          (source / "etc" / "ap_private.h").read_text())
    if count == 0:
        return None
    digest = hashlib.sha256(patched.encode())
    for header in sorted(source.rglob("*.h")):
        digest.update(header.relative_to(source).as_posix().encode() + b"\0" + header.read_bytes())
    return patched, digest.hexdigest()[:24]


def csim_headers() -> Path:
    """The installed ap_types with one addition, for hlsflow's csim library: a
    non-volatile overload of ap_private::clearUnusedBits with the same body,
    which ordinary (non-volatile) values then call. The values computed are the
    same; csim runs 5-6x faster. Made once in the build cache; the installed
    headers themselves when the pattern is absent or the cache is not writable."""
    source, patched = ap_types_dir(), _patched_ap_private()
    if patched is None:
        return source
    folder = cache_dir() / f"ap_types-{patched[1]}"
    if (folder / "ap_fixed.h").is_file():
        return folder
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=cache_dir()))
    except OSError:
        return source
    try:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        (tmp / "etc" / "ap_private.h").write_text(patched[0])
        os.replace(tmp, folder)  # atomic; a concurrent build may have won (then this fails)
    except OSError:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder if (folder / "ap_fixed.h").is_file() else source
