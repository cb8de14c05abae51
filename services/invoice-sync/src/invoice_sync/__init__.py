"""invoice_sync."""
