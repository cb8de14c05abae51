"""The QuickBooks Online Accounting API v3 half of the emulator: store, rules, query, CDC, batch."""
