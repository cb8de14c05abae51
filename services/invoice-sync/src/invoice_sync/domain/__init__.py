"""Pure decisions of invoice-sync: skip rules, exact amounts, currency, QBO payloads; no I/O."""
