"""hls4ml 1.3.0's own pytest suite, re-created as hlsflow's yardstick (issue 17)."""
