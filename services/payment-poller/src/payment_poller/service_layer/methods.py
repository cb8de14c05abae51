"""Names of QBO payment methods, cached per tenant."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from payment_poller.adapters import qbo
from payment_poller.domain.methods import unnamed_method_ids, with_method_names
from payment_poller.domain.model import QboPayment
from qbo_client import errors as qbo_errors
from qbo_client.session import TenantSession

log = logging.getLogger(__name__)

# A renamed method shows under its new name after this long. A webhook cannot invalidate the
# cache: replicas share one queue, so only one of them would hear it.
NAME_TTL_S = 3600.0


class PaymentMethodNames:
    """QBO's Payment usually cites its method as `{"value": "3"}` alone (QBO.md §3.8).

    A tenant's payment methods are a short list that rarely changes, so each id is asked about
    once per NAME_TTL_S: a poll whose payments all name their method, or cite only ids known
    already, costs no call, and an idle poll stays at its one CDC call. Ids QBO did not return
    are remembered as unnamed too, so a dangling ref is not asked about on every poll.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._names: dict[str, dict[str, tuple[str | None, float]]] = {}

    async def resolve(
        self, session: TenantSession, tenant: str, payments: list[QboPayment]
    ) -> list[QboPayment]:
        now = self._clock()
        cached = self._names.setdefault(tenant, {})
        fresh = {k: v for k, (v, at) in cached.items() if now - at < NAME_TTL_S}
        unknown = unnamed_method_ids(payments, fresh)
        if unknown:
            try:
                found = await qbo.payment_method_names(session, unknown)
            except qbo_errors.ValidationError as exc:
                # A refusal will not change on a retry, and the payment matters more than its
                # method's name: report it without one rather than stall the tenant. Transient
                # errors propagate: the poll fails and retries from its cursor.
                log.warning(
                    "payment method names of %s refused (%s); method left empty", tenant, exc
                )
                found = {}
            for method_id in unknown:
                cached[method_id] = (found.get(method_id), now)
                fresh[method_id] = found.get(method_id)
        return with_method_names(payments, fresh)
