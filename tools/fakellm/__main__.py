"""The simulated model as a process of its own:

    python -m tools.fakellm [--flavour anthropic|gemini] [--latency-ms 0]

prints its base URL on the first line, then serves until terminated; every reply
waits ``--latency-ms`` on the server, as a real model's does. Benchmarks use it
(``serve_simulated``) so the model's replies never wait for the benchmark's own
threads, as a real model's never would.
"""

from __future__ import annotations

import argparse
import signal
import threading

from tools.fakellm.server import FakeLLM
from tools.fakellm.simulated import simulated_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavour", choices=("anthropic", "gemini"), default="anthropic")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with FakeLLM(args.flavour, responder=simulated_model, latency_s=args.latency_ms / 1000) as fake:
        print(fake.url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
