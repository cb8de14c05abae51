"""payment_poller."""
