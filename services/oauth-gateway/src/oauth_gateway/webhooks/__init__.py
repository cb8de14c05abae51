"""Intuit webhook receiver: verify, parse, map realms to tenants, publish."""
