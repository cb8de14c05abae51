"""qbo_emulator."""
