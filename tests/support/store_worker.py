"""A faust worker that runs saga-store operations on a real faust table:
``python -m tests.support.store_worker``.

faust lets only a running agent write its tables, so the contract test sends each
operation as a message on ``<prefix>.store-ops`` (keyed by the instance it touches)
and reads what the operation returned from ``<prefix>.store-results``.
"""

from __future__ import annotations

from typing import Any

import faust
import orjson

from services.logging import configure_logging
from services.runtime.faust_app import FaustTableStore, build_app, run_worker
from services.runtime.saga import SagaStore, decode_stored, encode_stored
from services.settings import Settings
from tests.support.fanin import FanInState

__all__ = ["apply_op"]


def apply_op(store: SagaStore, op: dict[str, Any]) -> Any:
    """One operation of the contract on ``store``, and what it returns (as JSON)."""
    if op["op"] == "put":
        store.put(op["key"], decode_stored(op["stored"], FanInState))
        return None
    if op["op"] == "get":
        found = store.get(op["key"])
        return None if found is None else encode_stored(found)
    if op["op"] == "items":
        return sorted([k, encode_stored(v)] for k, v in store.items())
    raise ValueError(f"unknown op {op['op']!r}")


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    app = build_app(settings, "store-contract")
    table = app.Table(
        "store-contract",
        default=None,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
        partitions=settings.topic_partitions,
    )
    store = FaustTableStore(table, FanInState)
    ops = app.topic(f"{settings.topic_prefix}.store-ops", value_type=bytes, key_type=bytes)
    results = app.topic(f"{settings.topic_prefix}.store-results", value_type=bytes)

    @app.agent(ops)
    async def run(stream: Any) -> None:
        async for value in stream:
            op = orjson.loads(value)
            answer = apply_op(store, op)
            await results.send(value=orjson.dumps({"seq": op["seq"], "result": answer}))

    run_worker(app)


if __name__ == "__main__":
    main()
