"""The PrivateNote marker invoice-sync writes on payments it exports (see /work/notes/marker.txt)."""

from __future__ import annotations

import re

# invoice-sync writes "qbsync-op:<operation id>" (invoice_sync.domain.identity.marker); the first
# draft of the agreement said "qbsync:op=<operation id>", so both are recognised.
MARKER = re.compile(r"qbsync(?:-op:|:op=)\S+")


def is_ours(private_note: str | None) -> bool:
    """A payment qbsync itself exported from upstream: never report it back upstream."""
    return MARKER.search(private_note or "") is not None
