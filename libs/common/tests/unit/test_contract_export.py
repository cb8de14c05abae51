"""The committed contracts/ match the models, and the AsyncAPI document hangs together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from qbsync_common.contract.asyncapi import build_asyncapi
from qbsync_common.contract.events import ALL_EVENTS
from qbsync_common.contract.export import main, stale_files, write_files

CONTRACTS = Path(__file__).resolve().parents[4] / "contracts"


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_committed_contracts_are_up_to_date() -> None:
    # If this fails: uv run python -m qbsync_common.contract.export, and commit contracts/.
    assert main(["--check", "--out", str(CONTRACTS)]) == 0


def test_check_mode_notices_edits_missing_files_and_leftovers(tmp_path: Path) -> None:
    assert main(["--check", "--out", str(tmp_path)]) == 1
    written = write_files(tmp_path)
    assert len(written) == len(ALL_EVENTS) + 1
    assert stale_files(tmp_path) == []

    schema = tmp_path / "schemas" / "qbsync.partner.upserted.v1.json"
    schema.write_text(schema.read_text().replace("Clients", "Customers") + " ")
    (tmp_path / "schemas" / "qbsync.partner.exploded.v1.json").write_text("{}\n")
    (tmp_path / "asyncapi.yaml").unlink()
    assert stale_files(tmp_path) == [
        "schemas/qbsync.partner.upserted.v1.json",
        "asyncapi.yaml",
        "schemas/qbsync.partner.exploded.v1.json",
    ]
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--check", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "schemas" / "qbsync.partner.exploded.v1.json").exists()


def test_generation_is_deterministic(tmp_path: Path) -> None:
    write_files(tmp_path / "a")
    write_files(tmp_path / "b")
    for path in sorted((tmp_path / "a").rglob("*.*")):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()
        assert path.read_bytes().endswith(b"\n")


def test_asyncapi_references_resolve_and_cover_every_event() -> None:
    document = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    assert document == build_asyncapi(ALL_EVENTS)
    assert document["asyncapi"] == "3.0.0"
    listed = set()
    for operation in document["operations"].values():
        channel = resolve(document, operation["channel"]["$ref"])
        for message_ref in operation["messages"]:
            # AsyncAPI 3: an operation's messages must be messages of its own channel.
            assert message_ref["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            message = resolve(document, resolve(document, message_ref["$ref"])["$ref"])
            listed.add(message["name"])
            data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
            assert (CONTRACTS / data_ref).is_file()
        assert channel["address"] in {"qbsync.events", "qbsync.results"}
    assert listed == {model.event_type for model in ALL_EVENTS}


def test_asyncapi_examples_are_valid_envelopes_with_valid_data() -> None:
    document = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    envelope = Draft202012Validator(document["components"]["schemas"]["CloudEvent"])
    for message in document["components"]["messages"].values():
        data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
        data_schema = Draft202012Validator(json.loads((CONTRACTS / data_ref).read_text()))
        assert message["examples"]
        for example in message["examples"]:
            payload = example["payload"]
            assert list(envelope.iter_errors(payload)) == []
            assert list(data_schema.iter_errors(payload["data"])) == []
            assert payload["type"] == message["name"]


def test_readme_mentions_every_event_type() -> None:
    readme = (CONTRACTS / "README.md").read_text()
    missing = [model.event_type for model in ALL_EVENTS if f"`{model.event_type}`" not in readme]
    assert missing == []
