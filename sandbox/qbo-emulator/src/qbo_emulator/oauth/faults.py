"""Token-endpoint call counts and failure injection, so tests can count and break refreshes."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultMode = Literal["status", "hang"]


@dataclass
class TokenFault:
    """Applies to the next `remaining` token-endpoint calls of one client (any client when None).

    mode "status" answers `status` at once; mode "hang" waits `seconds` and then processes the call
    normally, which reproduces "Intuit rotated the token but the caller timed out and never saw it".
    """

    mode: FaultMode
    remaining: int
    status: int = 503
    seconds: float = 30.0
    client_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class TokenEndpointMonitor:
    """Counts calls per client and grant type and hands out the injected faults in order."""

    def __init__(self) -> None:
        self._faults: list[TokenFault] = []
        self._calls: dict[str, Counter[str]] = {}

    def add_fault(self, fault: TokenFault) -> None:
        self._faults.append(fault)

    def faults(self) -> list[TokenFault]:
        return list(self._faults)

    def clear_faults(self) -> None:
        self._faults.clear()

    def take_fault(self, client_id: str | None) -> TokenFault | None:
        for fault in self._faults:
            if fault.client_id is None or fault.client_id == client_id:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def record(self, client_id: str, kind: str, status: int) -> None:
        counter = self._calls.setdefault(client_id, Counter())
        counter[kind] += 1
        counter[f"status_{status}"] += 1
        counter["total"] += 1

    def calls(self, client_id: str) -> dict[str, int]:
        return dict(self._calls.get(client_id, Counter()))

    def all_calls(self) -> dict[str, dict[str, int]]:
        return {client: dict(counter) for client, counter in self._calls.items()}

    def clear(self) -> None:
        self._faults.clear()
        self._calls.clear()
