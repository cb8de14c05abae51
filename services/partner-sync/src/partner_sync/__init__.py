"""partner_sync."""
