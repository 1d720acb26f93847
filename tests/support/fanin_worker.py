"""Runs the test fan-in saga as a faust worker: ``python -m tests.support.fanin_worker``."""

from services.logging import configure_logging
from services.runtime.faust_app import build_app, run_worker
from services.settings import Settings
from tests.support.fanin import FanInSaga

if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings.log_level)
    run_worker(build_app(settings, "fan-in-test", sagas=[FanInSaga()]))
