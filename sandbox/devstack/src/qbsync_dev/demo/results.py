"""A private queue bound to every result on qbsync.results: what upstream would consume."""

from __future__ import annotations

import asyncio
import uuid
from types import TracebackType

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from pydantic import BaseModel

from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import ContractError, parse_event
from qbsync_common.messaging.topology import RESULTS_EXCHANGE

Result = tuple[Envelope, BaseModel]


class ResultFeed:
    """Open it before publishing: the queue only gets results routed after it is bound."""

    def __init__(self, broker_url: str) -> None:
        self._broker_url = broker_url
        self._connection: AbstractConnection | None = None
        self._inbox: asyncio.Queue[Result] = asyncio.Queue()
        self.invalid: list[str] = []  # results that broke the contract (a bug worth showing)

    async def __aenter__(self) -> ResultFeed:
        self._connection = await aio_pika.connect(self._broker_url)
        channel = await self._connection.channel()
        # Exclusive and auto-deleted: it disappears with this process and never piles up.
        queue = await channel.declare_queue(
            f"qbsync-demo.{uuid.uuid4().hex[:10]}", exclusive=True, auto_delete=True
        )
        exchange = await channel.get_exchange(RESULTS_EXCHANGE)
        await queue.bind(exchange, "#")
        await queue.consume(self._take, no_ack=True)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def _take(self, message: AbstractIncomingMessage) -> None:
        try:
            self._inbox.put_nowait(parse_event(message.body))
        except ContractError as exc:
            self.invalid.append(str(exc))

    async def next(self, timeout_s: float) -> Result | None:
        """The next result, or None when none arrives within timeout_s."""
        try:
            return await asyncio.wait_for(self._inbox.get(), max(timeout_s, 0.0))
        except TimeoutError:
            return None
