"""Location of the ap_types headers (ap_fixed.h, ap_int.h) shipped by hls4ml."""
import importlib.util
from pathlib import Path

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
