"""partner-sync's entrypoints: consumer wiring and the operator HTTP API."""
