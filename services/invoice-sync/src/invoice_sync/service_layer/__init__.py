"""Handlers of invoice-sync and the ports they use."""
