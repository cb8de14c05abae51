"""Entry points of invoice-sync: the operator HTTP API (the consumer is wired in bootstrap)."""
