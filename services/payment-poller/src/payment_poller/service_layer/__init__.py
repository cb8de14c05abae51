"""Handlers and the poll workflow of payment-poller."""
