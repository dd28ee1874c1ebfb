"""The local OBS-compatible service: on-disk state, the API routes, fault injection and builds."""
