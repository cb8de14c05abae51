"""Consumer wiring and the operator HTTP API of payment-poller."""
