"""The openSUSE Build Service bridge: the osc-driven client and a local OBS-compatible service."""
