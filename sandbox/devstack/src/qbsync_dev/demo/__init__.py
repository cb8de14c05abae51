"""`qbsync-demo`: plays the upstream app against a running stack (the demo tenant's story)."""
