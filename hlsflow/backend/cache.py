"""hlsflow's build cache: compiled csim libraries and layer objects, the
precompiled header, the csim ap_types headers and the compiled templates.

It is bounded: after each build the least recently used libraries and layer
objects go until the cache is within HLSFLOW_CACHE_LIMIT_MB (default 2048);
`hlsflow cache` shows where it is and its size, `hlsflow cache --clear`
empties it. HLSFLOW_CACHE_DIR moves it.
"""
import os
import shutil
from pathlib import Path

DEFAULT_LIMIT_MB = 2048
BUILT = ("*.so", "layers/*.o")  # what grows with every model built; the rest is per compiler and headers


def cache_dir() -> Path:
    """HLSFLOW_CACHE_DIR, else the user's cache directory."""
    if os.environ.get("HLSFLOW_CACHE_DIR"):
        return Path(os.environ["HLSFLOW_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hlsflow"


def limit_bytes() -> int:
    return int(float(os.environ.get("HLSFLOW_CACHE_LIMIT_MB", DEFAULT_LIMIT_MB)) * 2 ** 20)


def usage() -> tuple[int, int]:
    """(bytes, files) in the cache. os.walk, unlike rglob, skips the folders
    another build removes meanwhile (its temporary work folder)."""
    files = [Path(top, name) for top, _, names in os.walk(cache_dir()) for name in names]
    return sum(_size(p) for p in files), len(files)


def clear() -> int:
    """Remove the whole cache; returns the bytes it held."""
    held, _ = usage()
    shutil.rmtree(cache_dir(), ignore_errors=True)
    return held


def touch(path: Path) -> Path:
    """Mark a cached file as just used (pruning removes the least recently used first)."""
    try:
        os.utime(path)
    except OSError:
        pass
    return path


def prune(limit: int | None = None) -> None:
    """Remove the least recently used libraries and layer objects while the cache exceeds `limit` bytes."""
    limit = limit_bytes() if limit is None else limit
    total, _ = usage()
    if total <= limit:
        return
    built = sorted((p for pattern in BUILT for p in cache_dir().glob(pattern)), key=_mtime)
    for path in built:
        if total <= limit:
            break
        size = _size(path)
        try:
            path.unlink()
            total -= size
        except OSError:
            pass


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed meanwhile
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
