"""The PrivateNote marker invoice-sync writes on payments it exports (see /work/notes/marker.txt)."""

from __future__ import annotations

import re

# Agreed with invoice-sync: "qbsync:op=<operation id>" anywhere in the PrivateNote.
MARKER = re.compile(r"qbsync:op=\S+")


def is_ours(private_note: str | None) -> bool:
    """A payment qbsync itself exported from upstream: never report it back upstream."""
    return bool(private_note) and MARKER.search(private_note or "") is not None
