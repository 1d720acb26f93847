"""The faust worker process keeps the log level it was given.

faust's terminal spinner sets the root logger to DEBUG so that it spins on
every record; in a worker that made aiokafka and httpx build a debug record for
every fetch and request.
"""

from __future__ import annotations

import logging

import faust

from services.runtime.faust_app import QuietWorker


def test_the_worker_leaves_the_root_logger_at_its_level() -> None:
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    app = faust.App("quiet", broker="kafka://127.0.0.1:9", web_enabled=False, store="memory://")
    try:
        QuietWorker(app, loglevel="warn", quiet=True, redirect_stdouts=False)._setup_logging()
        assert root.getEffectiveLevel() == logging.WARNING
        assert not logging.getLogger("aiokafka.consumer.fetcher").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
