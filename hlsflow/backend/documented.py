"""What the vendor tools document, as the lint checks it: the tcl commands
and options of the generated scripts, the HLS pragmas and their options, and
the limits the lint applies. Every entry names the document section it comes
from (docs/tcl.md lists them with their addresses).

Tools: "vitis" (Vitis HLS 2023.1-2024.2, UG1399), "vivado" (Vivado HLS
2020.1, UG902), "vivado_synth" (Vivado logic synthesis, UG835: the commands
of vivado_synth.tcl and its XDC file).
"""
from __future__ import annotations

from dataclasses import dataclass, field

UG1399_TCL = "UG1399 v2023.2, Vitis HLS Command Reference"
UG1399_PRAGMA = "UG1399 v2023.2, HLS Pragmas"
UG1399_DEPRECATED = "UG1399 v2023.1, Deprecated and Unsupported Features (Vivado HLS options)"
UG902_TCL = "UG902 v2020.1, ch. 4 High-Level Synthesis Reference Guide: Command Reference"
UG902_PRAGMA = "UG902 v2020.1, ch. 4 High-Level Synthesis Reference Guide: HLS Pragmas"
UG835 = "UG835, Vivado Design Suite Tcl Command Reference"
TCL_MANUAL = "Tcl 8.6 manual (built-in command)"


@dataclass(frozen=True)
class Command:
    """A tcl command: its options, each mapped to whether it takes a value."""
    options: dict
    source: str


def _command(source: str, valued: str = "", flags: str = "") -> Command:
    return Command({**{o: True for o in valued.split()}, **{o: False for o in flags.split()}}, source)


_VIVADO_COMMON = "-quiet -verbose"  # UG835: every Vivado command takes these two flags
TCL_BUILTINS = {name: _command(TCL_MANUAL) for name in ("set", "if", "expr", "llength", "lindex", "foreach", "puts")}
TCL_BUILTINS["exit"] = _command(TCL_MANUAL)
TCL_BUILTINS["exec"] = _command(TCL_MANUAL)  # runs a program: its arguments are that program's
TCL_BUILTINS["glob"] = _command(TCL_MANUAL, "-directory -path -types", "-nocomplain -join -tails --")

TCL = {
    "vitis": {
        "open_project": _command(f"{UG1399_TCL}: open_project", "", "-reset -upgrade"),
        "set_top": _command(f"{UG1399_TCL}: set_top"),
        "add_files": _command(f"{UG1399_TCL}: add_files", "-blackbox -cflags -csimflags", "-tb"),
        "open_solution": _command(f"{UG1399_TCL}: open_solution", "-flow_target", "-reset"),
        "set_part": _command(f"{UG1399_TCL}: set_part", "", "-board"),
        "create_clock": _command(f"{UG1399_TCL}: create_clock", "-period -name"),
        "set_clock_uncertainty": _command(f"{UG1399_TCL}: set_clock_uncertainty (default 27% of the period)"),
        "config_compile": _command(f"{UG1399_TCL}: config_compile",
                                   "-name_max_length -pipeline_loops -pipeline_style -pipeline_flush_in_task",
                                   "-enable_auto_rewind -ignore_long_run_time -no_signed_zeros "
                                   "-pragma_strict_mode -unsafe_math_optimizations"),
        "config_array_partition": _command(f"{UG1399_TCL}: config_array_partition",
                                           "-complete_threshold -throughput_driven"),
        "csim_design": _command(f"{UG1399_TCL}: csim_design", "-argv -ldflags -mflags",
                                "-O -clean -profile -setup"),
        "csynth_design": _command(f"{UG1399_TCL}: csynth_design", "", "-dump_cfg -dump_post_cfg -synthesis_check"),
        "cosim_design": _command(f"{UG1399_TCL}: cosim_design",
                                 "-argv -ldflags -mflags -rtl -tool -trace_level -user_stall",
                                 "-O -coverage -disable_binary_tv -disable_deadlock_detection "
                                 "-enable_dataflow_profiling -enable_fifo_sizing -random_stall -setup "
                                 "-wave_debug"),
        "export_design": _command(f"{UG1399_TCL}: export_design",
                                  "-description -display_name -flow -format -ipname -library -output -rtl "
                                  "-taxonomy -vendor -version"),
    },
    "vivado": {
        "open_project": _command(f"{UG902_TCL}: open_project", "", "-reset"),
        "set_top": _command(f"{UG902_TCL}: set_top"),
        "add_files": _command(f"{UG902_TCL}: add_files", "-cflags -csimflags", "-tb"),
        "open_solution": _command(f"{UG902_TCL}: open_solution", "", "-reset"),
        "set_part": _command(f"{UG902_TCL}: set_part", "-tool"),
        "create_clock": _command(f"{UG902_TCL}: create_clock", "-period -name"),
        "set_clock_uncertainty": _command(f"{UG902_TCL}: set_clock_uncertainty (default 12.5% of the period)"),
        "config_compile": _command(f"{UG902_TCL}: config_compile", "-name_max_length -pipeline_loops",
                                   "-no_signed_zeros -unsafe_math_optimizations"),
        "config_array_partition": _command(f"{UG902_TCL}: config_array_partition; also {UG1399_DEPRECATED}",
                                           "-auto_partition_threshold -auto_promotion_threshold -maximum_size",
                                           "-include_extern_globals -include_ports -scalarize_all "
                                           "-throughput_driven"),
        "csim_design": _command(f"{UG902_TCL}: csim_design", "-argv -compiler -ldflags -mflags",
                                "-O -clean -setup"),
        "csynth_design": _command(f"{UG902_TCL}: csynth_design"),
        "cosim_design": _command(f"{UG902_TCL}: cosim_design",
                                 "-argv -compiled_library_dir -ldflags -mflags -rtl -tool -trace_level",
                                 "-O -bc -coverage -disable_deadlock_detection -setup -wave_debug"),
        "export_design": _command(f"{UG902_TCL}: export_design",
                                  "-description -display_name -evaluate -flow -format -ipname -library -rtl "
                                  "-vendor -version", "-use_netlist"),
    },
    "vivado_synth": {
        "set_part": _command(f"{UG835}: set_part", "", _VIVADO_COMMON),
        "read_verilog": _command(f"{UG835}: read_verilog", "-library", f"-sv {_VIVADO_COMMON}"),
        "read_mem": _command(f"{UG835}: read_mem (.mem, .dat, .coe memory contents)", "", _VIVADO_COMMON),
        "read_xdc": _command(f"{UG835}: read_xdc", "-cells -mode -ref", f"-quiet_diff_pairs -unmanaged "
                                                                          f"{_VIVADO_COMMON}"),
        "source": _command(f"{UG835}: source", "-encoding", f"-notrace {_VIVADO_COMMON}"),
        "get_ips": _command(f"{UG835}: get_ips", "-filter -of_objects", f"-all -exclude_bd_ips -nocase -regexp "
                                                                         f"{_VIVADO_COMMON}"),
        "get_files": _command(f"{UG835}: get_files", "-compile_order -filter -of_objects -used_in",
                              f"-all -nocase -references -regexp {_VIVADO_COMMON}"),
        "set_property": _command(f"{UG835}: set_property", "-dict", _VIVADO_COMMON),
        "generate_target": _command(f"{UG835}: generate_target", "", f"-force {_VIVADO_COMMON}"),
        "synth_design": _command(f"{UG835}: synth_design", "-top -part -mode -flatten_hierarchy -directive",
                                 _VIVADO_COMMON),
        "report_utilization": _command(f"{UG835}: report_utilization", "-file", _VIVADO_COMMON),
        "report_timing_summary": _command(f"{UG835}: report_timing_summary", "-file", _VIVADO_COMMON),
        "create_clock": _command(f"{UG835}: create_clock (XDC)", "-period -name -waveform", f"-add {_VIVADO_COMMON}"),
        "get_ports": _command(f"{UG835}: get_ports", "-filter -of_objects", f"-nocase -regexp {_VIVADO_COMMON}"),
    },
}
TCL_FILES = {"build_prj.tcl": None, "vivado_synth.tcl": "vivado_synth", "vivado_synth.xdc": "vivado_synth"}


@dataclass(frozen=True)
class Pragma:
    """An HLS pragma: its options (name -> allowed values, or INT, or ANY) and
    the bare words it takes; `required` options must be present."""
    options: dict = field(default_factory=dict)
    words: frozenset = frozenset()
    required: tuple = ()
    source: str = ""


INT = "an integer or a named constant"
ANY = "any value"
PARTITION_TYPES = ("block", "cyclic", "complete")
INTERFACE_MODES = ("ap_none", "ap_vld", "ap_ack", "ap_hs", "ap_ovld", "ap_fifo", "ap_memory", "bram", "axis",
                   "s_axilite", "m_axi", "ap_ctrl_chain", "ap_ctrl_hs", "ap_ctrl_none")
_INTERFACE_OPTIONS = {"port": ANY, "bundle": ANY, "clock": ANY, "depth": INT, "latency": INT, "name": ANY,
                      "offset": ANY, "register_mode": ("both", "forward", "reverse", "off"),
                      "num_read_outstanding": INT, "num_write_outstanding": INT, "max_read_burst_length": INT,
                      "max_write_burst_length": INT}


def _vitis(section: str, options=None, words=(), required=()) -> Pragma:
    return Pragma(options or {}, frozenset(words), tuple(required), f"{UG1399_PRAGMA}: pragma HLS {section}")


def _vivado(section: str, options=None, words=(), required=()) -> Pragma:
    return Pragma(options or {}, frozenset(words), tuple(required), f"{UG902_PRAGMA}: pragma HLS {section}")


PRAGMAS = {
    "vitis": {
        "pipeline": _vitis("pipeline", {"ii": INT, "style": ("stp", "frp", "flp"), "rewind": ("true", "false")},
                           ("off", "rewind")),
        "unroll": _vitis("unroll", {"factor": INT, "off": ("true",)}, ("skip_exit_check",)),
        "inline": _vitis("inline", {}, ("recursive", "off")),
        "dataflow": _vitis("dataflow", {}, ("disable_start_propagation",)),
        "array_partition": _vitis("array_partition", {"variable": ANY, "type": PARTITION_TYPES, "factor": INT,
                                                      "dim": INT, "off": ("true",)}, (), ("variable",)),
        "array_reshape": _vitis("array_reshape", {"variable": ANY, "type": PARTITION_TYPES + ("object",),
                                                  "factor": INT, "dim": INT, "off": ("true",)}, (), ("variable",)),
        "interface": _vitis("interface", {"mode": INTERFACE_MODES, "max_widen_bitwidth": INT,
                                          "storage_impl": ANY, "storage_type": ANY, **_INTERFACE_OPTIONS},
                            ("register",), ("mode", "port")),
        "stream": _vitis("stream", {"variable": ANY, "type": ("fifo", "pipo", "shared", "unsync"), "depth": INT},
                         (), ("variable",)),
        "loop_tripcount": _vitis("loop_tripcount", {"min": INT, "max": INT, "avg": INT}),
        "loop_flatten": _vitis("loop_flatten", {}, ("off",)),
        "allocation": _vitis("allocation", {"instances": ANY, "limit": INT}, ("function", "operation")),
        "latency": _vitis("latency", {"min": INT, "max": INT}),
        "bind_storage": _vitis("bind_storage", {"variable": ANY, "type": ANY, "impl": ANY, "latency": INT},
                               (), ("variable", "type")),
        "bind_op": _vitis("bind_op", {"variable": ANY, "op": ANY, "impl": ANY, "latency": INT}, (),
                          ("variable", "op")),
        "dependence": _vitis("dependence", {"variable": ANY, "class": ("array", "pointer"),
                                            "type": ("intra", "inter"), "direction": ("raw", "war", "waw"),
                                            "distance": INT, "dependent": ("true", "false")}),
        "expression_balance": _vitis("expression_balance", {}, ("off",)),
        "function_instantiate": _vitis("function_instantiate", {"variable": ANY}, (), ("variable",)),
    },
    "vivado": {
        "pipeline": _vivado("pipeline", {"ii": INT}, ("enable_flush", "rewind", "off")),
        "unroll": _vivado("unroll", {"factor": INT}, ("region", "skip_exit_check")),
        "inline": _vivado("inline", {}, ("region", "recursive", "off")),
        "dataflow": _vivado("dataflow"),
        "array_partition": _vivado("array_partition", {"variable": ANY, "factor": INT, "dim": INT},
                                   PARTITION_TYPES, ("variable",)),
        "array_reshape": _vivado("array_reshape", {"variable": ANY, "factor": INT, "dim": INT},
                                 PARTITION_TYPES + ("object",), ("variable",)),
        "interface": _vivado("interface", _INTERFACE_OPTIONS, INTERFACE_MODES + ("register",), ("port",)),
        "stream": _vivado("stream", {"variable": ANY, "depth": INT, "dim": INT}, ("off",), ("variable",)),
        "loop_tripcount": _vivado("loop_tripcount", {"min": INT, "max": INT, "avg": INT}),
        "loop_flatten": _vivado("loop_flatten", {}, ("off",)),
        "allocation": _vivado("allocation", {"instances": ANY, "limit": INT}, ("function", "operation", "core")),
        "latency": _vivado("latency", {"min": INT, "max": INT}),
        "resource": _vivado("resource", {"variable": ANY, "core": ANY, "latency": INT}, (),
                            ("variable", "core")),
        "dependence": _vivado("dependence", {"variable": ANY, "class": ("array", "pointer"),
                                             "type": ("intra", "inter"), "direction": ("raw", "war", "waw"),
                                             "distance": INT, "dependent": ("true", "false")}),
        "expression_balance": _vivado("expression_balance", {}, ("off",)),
        "function_instantiate": _vivado("function_instantiate", {"variable": ANY}, (), ("variable",)),
    },
}


@dataclass(frozen=True)
class Limit:
    value: int
    source: str


# Elements of one completely partitioned array. Vivado HLS stops with XFORM
# 203-103 above config_array_partition -maximum_size (default 1024;
# build_prj.tcl sets 8192). Vitis HLS has no such option (UG1399 lists
# -maximum_size as unsupported) and no documented bound: hlsflow holds it to
# the same 8192 registers per array.
PARTITION_LIMIT = {
    "vivado": Limit(8192, f"{UG902_TCL}: config_array_partition -maximum_size (set in build_prj.tcl)"),
    "vitis": Limit(8192, "hlsflow's rule: the Vivado HLS bound kept for Vitis HLS, which documents none"),
}
# Copies of a loop body made by unrolling (the product of the trip counts of
# the unrolled loops it sits in, under a PIPELINE or UNROLL). Vivado HLS stops
# unrolling with XFORM 203-504 beyond 4096 (hls4ml's documented limit for
# Vivado, fastmachinelearning/hls4ml#904). Vitis HLS unrolls further; beyond
# 65536 parallel copies no part holds the operators (a VU13P's 1.7M LUTs hold
# a few tens of thousands of LUT-built 8x8 multipliers).
UNROLL_LIMIT = {
    "vivado": Limit(4096, "Vivado HLS XFORM 203-504 (fastmachinelearning/hls4ml#904)"),
    "vitis": Limit(65536, "hlsflow's rule: more parallel operators than the largest parts hold"),
}
# Elements of one array with static storage (weights, tables, static buffers):
# beyond a million values an array alone needs more on-chip memory than most
# parts have at 16 bits and makes C synthesis of its initializer take hours.
HUGE_ARRAY = Limit(1 << 20, "hlsflow's rule: one array's on-chip memory and C-synthesis time")
