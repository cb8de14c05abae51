"""partner-sync's use cases: event handlers and operator actions, with their transactions."""
