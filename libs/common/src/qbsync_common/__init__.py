"""qbsync_common."""
