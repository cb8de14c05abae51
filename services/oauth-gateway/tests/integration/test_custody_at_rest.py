"""S2: a database dump holds no usable token; rekey rewraps every row; swapped ciphertexts fail."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from custody_fakes import FakeIntuit, RecordedEvents
from custody_harness import Replica, connect, replica
from pydantic import SecretStr
from sqlalchemy import Column, DateTime, MetaData, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from oauth_gateway.config import Settings
from oauth_gateway.custody.keyring import DecryptionError, KeyRing, generate_key
from oauth_gateway.custody.rekey import rekey, run_rekey
from oauth_gateway.custody.repository import TokenRepository
from oauth_gateway.custody.tables import tokens_table

pytestmark = pytest.mark.integration


def ring(primary: str, **keys: str) -> KeyRing:
    return KeyRing({k: base64.b64decode(v) for k, v in keys.items()}, primary)


@pytest.fixture
async def isolated(
    gateway_engine: AsyncEngine, schema: str
) -> tuple[async_sessionmaker[AsyncSession], MetaData]:
    """A private schema with the tokens table, so rekey only ever sees this test's rows."""
    metadata = MetaData(schema=schema)
    tokens_table(metadata)
    Table(
        "tenants",
        metadata,
        Column("tenant_id", Text, primary_key=True),
        Column("state", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True)),
    )
    async with gateway_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return async_sessionmaker(gateway_engine, expire_on_commit=False), metadata


def replica_in(
    sessions: async_sessionmaker[AsyncSession], metadata: MetaData, intuit: FakeIntuit, kr: KeyRing
) -> Replica:
    gw = replica(sessions, intuit, RecordedEvents(), kr)
    gw.repository = TokenRepository(tokens_table(MetaData(schema=metadata.schema)), kr)
    gw.refresher.repository = gw.repository
    return gw


async def dump(dsn: str, schema: str) -> str:
    """A real `pg_dump` of the schema (data and all), as an attacker with a backup would have it."""
    proc = await asyncio.create_subprocess_exec(
        "pg_dump", "--no-owner", "--schema", schema, dsn, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode()


async def test_dump_has_no_plaintext_and_rekey_survives_removing_the_old_key(
    isolated: tuple[async_sessionmaker[AsyncSession], MetaData], database_dsn: str
) -> None:
    sessions, metadata = isolated
    schema = str(metadata.schema)
    k1, k2 = generate_key(), generate_key()
    intuit = FakeIntuit()
    old = replica_in(sessions, metadata, intuit, ring("k1", k1=k1))
    grants = {}
    for i in range(5):
        tenant = f"tenant-{i}"
        async with sessions.begin() as session:
            await session.execute(
                text(f'INSERT INTO "{schema}".tenants (tenant_id, state) VALUES (:t, :s)'),
                {"t": tenant, "s": "connected"},
            )
        grants[tenant] = intuit.grant()
        await connect(sessions, old.vault, tenant, grants[tenant])

    before = await dump(database_dsn, schema)
    assert before.count("v1:k1:") == 10
    for grant in grants.values():
        assert grant.access_token not in before
        assert grant.refresh_token not in before
        # Not even the base64 of a token (a lazy "encryption" would leave that).
        assert base64.b64encode(grant.refresh_token.encode()).decode() not in before

    rotated = replica_in(sessions, metadata, intuit, ring("k2", k1=k1, k2=k2))
    assert (await rekey(sessions, rotated.repository, batch=2)).rewritten == 5
    again = await rekey(sessions, rotated.repository, batch=2)  # idempotent
    assert (again.rewritten, again.unreadable) == (0, [])
    after = await dump(database_dsn, schema)
    assert "v1:k1:" not in after
    assert after.count("v1:k2:") == 10

    only_new = replica_in(sessions, metadata, intuit, ring("k2", k2=k2))
    for tenant, grant in grants.items():
        issued = await only_new.vault.access_token(tenant)
        assert issued.access_token == grant.access_token
    async with sessions() as session:
        loaded = await only_new.repository.load(session, "tenant-1")
    assert loaded is not None
    assert loaded.refresh_token == grants["tenant-1"].refresh_token


async def test_ciphertext_swapped_between_tenant_rows_fails_to_decrypt(
    isolated: tuple[async_sessionmaker[AsyncSession], MetaData],
) -> None:
    sessions, metadata = isolated
    schema = str(metadata.schema)
    intuit = FakeIntuit()
    gw = replica_in(sessions, metadata, intuit, ring("k1", k1=generate_key()))
    for tenant in ("victim", "attacker"):
        async with sessions.begin() as session:
            await session.execute(
                text(f'INSERT INTO "{schema}".tenants (tenant_id, state) VALUES (:t, :s)'),
                {"t": tenant, "s": "connected"},
            )
        await connect(sessions, gw.vault, tenant, intuit.grant())
    async with sessions.begin() as session:
        await session.execute(
            text(
                f'UPDATE "{schema}".tokens SET access_token_ct = v.access_token_ct, '
                f'refresh_token_ct = v.refresh_token_ct FROM "{schema}".tokens v '
                "WHERE tokens.tenant_id = 'attacker' AND v.tenant_id = 'victim'"
            )
        )
    with pytest.raises(DecryptionError):
        await gw.vault.access_token("attacker")
    assert (await gw.vault.access_token("victim")).realm_id == "9130"


async def test_rekey_command_reports_rows_no_key_can_open(
    isolated: tuple[async_sessionmaker[AsyncSession], MetaData],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`oauth-gateway rekey`'s body: rewrap what it can, name the rest, exit 1."""
    sessions, metadata = isolated
    schema = str(metadata.schema)
    k_lost, k1, k2 = generate_key(), generate_key(), generate_key()
    intuit = FakeIntuit()
    for tenant, key_id, key in (("readable", "k1", k1), ("orphan", "lost", k_lost)):
        async with sessions.begin() as session:
            await session.execute(
                text(f'INSERT INTO "{schema}".tenants (tenant_id, state) VALUES (:t, :s)'),
                {"t": tenant, "s": "connected"},
            )
        writer = replica_in(sessions, metadata, intuit, ring(key_id, **{key_id: key}))
        await connect(sessions, writer.vault, tenant, intuit.grant())
    keys = json.dumps({"keys": {"k1": k1, "k2": k2}, "primary": "k2"})
    settings = Settings(database_url=SecretStr(database_url), token_keys=SecretStr(keys))
    assert await run_rekey(settings, MetaData(schema=schema)) == 1
    out = capsys.readouterr().out
    assert "1 tenant token row(s) rewrapped" in out
    assert "orphan" in out
    assert k1 not in out
    assert (await dump_rows(sessions, schema))["readable"].startswith("v1:k2:")
    assert (await dump_rows(sessions, schema))["orphan"].startswith("v1:lost:")


async def dump_rows(sessions: async_sessionmaker[AsyncSession], schema: str) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            text(f'SELECT tenant_id, refresh_token_ct FROM "{schema}".tokens')
        )
        return {str(t): str(ct) for t, ct in rows}
