"""qbo_client."""
