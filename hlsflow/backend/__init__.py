"""HLS project generation (writer), C simulation (csim) and its helpers."""
