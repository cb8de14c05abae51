"""The operator API: upstream backends manage tenants, links and settings with API keys."""
