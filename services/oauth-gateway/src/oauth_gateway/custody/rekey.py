"""`oauth-gateway rekey`: re-encrypt every stored token under the key ring's primary key."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.config import Settings
from oauth_gateway.custody.keyring import DecryptionError, KeyRing, token_aad
from oauth_gateway.custody.repository import ACCESS, REFRESH, TokenRepository
from oauth_gateway.custody.wiring import repository_from
from qbsync_common.db import create_engine, session_factory

log = logging.getLogger(__name__)


@dataclass
class RekeyReport:
    rewritten: int = 0
    # Rows no key in the ring opens (a key removed too early, or tampering): left untouched.
    unreadable: list[str] = field(default_factory=list)


async def rekey(
    sessions: async_sessionmaker[AsyncSession], repository: TokenRepository, *, batch: int = 200
) -> RekeyReport:
    """Rewrap rows not yet under the primary key, one locked page per transaction.

    Safe to re-run and to run while the gateway serves: each page holds its rows' locks, so a
    concurrent refresh waits rather than interleaves. Once a run rewrites nothing and finds no
    unreadable row, old keys can be removed from QBSYNC_TOKEN_KEYS.
    """
    ring = repository.keyring
    report = RekeyReport()
    after = ""
    while True:
        async with sessions.begin() as session:
            page = await repository.page_for_rekey(session, after, batch)
            for row in page:
                tid = str(row["tenant_id"])
                access_ct, refresh_ct = str(row["access_token_ct"]), str(row["refresh_token_ct"])
                if ring.is_current(access_ct) and ring.is_current(refresh_ct):
                    continue
                try:
                    access_ct = _rewrap(ring, access_ct, token_aad(tid, ACCESS))
                    refresh_ct = _rewrap(ring, refresh_ct, token_aad(tid, REFRESH))
                except DecryptionError as exc:
                    report.unreadable.append(tid)
                    log.error("rekey: row cannot be decrypted: %s", exc, extra={"row": tid})
                    continue
                await repository.rewrite_ciphertexts(session, tid, access_ct, refresh_ct)
                report.rewritten += 1
        if len(page) < batch:
            break
        after = str(page[-1]["tenant_id"])
    log.info("rekey: %d row(s) rewrapped under key %s", report.rewritten, ring.primary)
    return report


def _rewrap(ring: KeyRing, ciphertext: str, aad: bytes) -> str:
    return ring.encrypt(ring.decrypt(ciphertext, aad), aad)


async def run_rekey(settings: Settings, metadata: MetaData) -> int:
    """The `oauth-gateway rekey` command body: rewrap, report on stdout, exit 1 if rows failed."""
    engine = create_engine(settings, pool_size=1)
    try:
        report = await rekey(session_factory(engine), repository_from(settings, metadata))
    finally:
        await engine.dispose()
    sys.stdout.write(f"rekey: {report.rewritten} tenant token row(s) rewrapped\n")
    if report.unreadable:
        sys.stdout.write(
            f"rekey: {len(report.unreadable)} row(s) no key can decrypt (keep their old key in "
            f"the ring): {', '.join(report.unreadable)}\n"
        )
        return 1
    return 0
