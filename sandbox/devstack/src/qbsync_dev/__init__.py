"""Local developer stack for qbsync."""
