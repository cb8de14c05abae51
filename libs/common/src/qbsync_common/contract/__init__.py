"""qbsync's event contract v1: CloudEvents envelope, every event's data model, the registry."""
