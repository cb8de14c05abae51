"""partner-sync's decisions: pure functions of snapshots, stored state and tenant settings."""
