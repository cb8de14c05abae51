"""oauth_gateway."""
