"""hlsflow's build cache: compiled csim libraries and layer objects, the
precompiled header, the csim ap_types headers and the compiled templates."""
import os
from pathlib import Path


def cache_dir() -> Path:
    """HLSFLOW_CACHE_DIR, else the user's cache directory."""
    if os.environ.get("HLSFLOW_CACHE_DIR"):
        return Path(os.environ["HLSFLOW_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hlsflow"
