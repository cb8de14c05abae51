"""Tables, repositories and QBO use of payment-poller."""
