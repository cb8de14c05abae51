"""`oauth-gateway rekey`: re-encrypt every stored token under the key ring's primary key."""

from __future__ import annotations

import logging
import sys

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.config import Settings
from oauth_gateway.custody.keyring import token_aad
from oauth_gateway.custody.repository import ACCESS, REFRESH, TokenRepository
from oauth_gateway.custody.wiring import repository_from
from qbsync_common.db import create_engine, session_factory

log = logging.getLogger(__name__)


async def rekey(
    sessions: async_sessionmaker[AsyncSession], repository: TokenRepository, *, batch: int = 200
) -> int:
    """Rewrap rows not yet under the primary key, one locked page per transaction.

    Returns how many rows were rewritten. Safe to re-run and to run while the gateway serves:
    each page holds the rows' locks, so a concurrent refresh waits rather than interleaves. Once
    it reports 0, old keys can be removed from QBSYNC_TOKEN_KEYS.
    """
    ring = repository.keyring
    rewritten = 0
    after = ""
    while True:
        async with sessions.begin() as session:
            page = await repository.page_for_rekey(session, after, batch)
            for row in page:
                tid = str(row["tenant_id"])
                access_ct, refresh_ct = str(row["access_token_ct"]), str(row["refresh_token_ct"])
                if ring.is_current(access_ct) and ring.is_current(refresh_ct):
                    continue
                access_aad, refresh_aad = token_aad(tid, ACCESS), token_aad(tid, REFRESH)
                await repository.rewrite_ciphertexts(
                    session,
                    tid,
                    ring.encrypt(ring.decrypt(access_ct, access_aad), access_aad),
                    ring.encrypt(ring.decrypt(refresh_ct, refresh_aad), refresh_aad),
                )
                rewritten += 1
        if len(page) < batch:
            break
        after = str(page[-1]["tenant_id"])
    log.info("rekey finished: %d row(s) rewrapped under key %s", rewritten, ring.primary)
    return rewritten


async def run_rekey(settings: Settings, metadata: MetaData) -> int:
    """The `oauth-gateway rekey` command body: connect, rewrap, report on stdout."""
    engine = create_engine(settings, pool_size=1)
    try:
        rewritten = await rekey(session_factory(engine), repository_from(settings, metadata))
    finally:
        await engine.dispose()
    sys.stdout.write(f"rekey: {rewritten} tenant token row(s) rewrapped\n")
    return 0
