"""The browser-facing connect, callback, reconnect and disconnect pages."""
