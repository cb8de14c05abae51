"""Pure decisions of payment-poller: which QBO payment changes become which events."""
