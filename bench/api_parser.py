"""Cost of the API's bounded JSON parser (depth, NUL, lone surrogates) against DRF's plain JSONParser.

Run: ``python bench/api_parser.py``. Prints one row per typical body: a guard check of 4 KiB and of
64 KiB, the same with escaped non-ASCII (which forces the walk), a usage batch of 1,000 records
(walked: it has more brackets than the depth limit), and a body at the depth limit.
"""

from __future__ import annotations

import io
import json
import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django

django.setup()

from rest_framework.parsers import JSONParser  # noqa: E402

from governance.api.parsers import BoundedJSONParser  # noqa: E402


def _usage(n: int) -> bytes:
    record = {"client_id": "c", "provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1200,
              "cached_tokens": 1000, "output_tokens": 80, "feature": "support", "customer": "acme",
              "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}  # fmt: skip
    return json.dumps([{**record, "client_id": f"c{i}"} for i in range(n)]).encode()


BODIES = {
    "guard check, 4 KiB ASCII": json.dumps({"stage": "input", "text": "a" * 4096, "context": {"feature": "x"}}),
    "guard check, 64 KiB ASCII": json.dumps({"stage": "input", "text": "a" * 65536, "context": {"feature": "x"}}),
    "guard check, 4 KiB escaped emoji": json.dumps({"stage": "input", "text": "\U0001f600" * 1024}),
    "usage batch, 1000 records": _usage(1000).decode(),
    "envelope at depth 60": json.dumps(
        {"decision_type": "external", "outcome": "allowed", "input": json.loads("[" * 58 + "0" + "]" * 58)}
    ),
}


def _per_call_us(parser: object, raw: bytes, number: int) -> float:
    def run() -> None:
        parser.parse(io.BytesIO(raw), "application/json", {"encoding": "utf-8"})  # type: ignore[attr-defined]

    return min(timeit.repeat(run, number=number, repeat=5)) / number * 1e6


def main() -> None:
    print(f"{'body':34} {'bytes':>9} {'DRF µs':>10} {'bounded µs':>11} {'ratio':>6}")
    for name, text in BODIES.items():
        raw = text.encode()
        number = 20 if len(raw) > 100_000 else 200
        plain = _per_call_us(JSONParser(), raw, number)
        bounded = _per_call_us(BoundedJSONParser(), raw, number)
        print(f"{name:34} {len(raw):>9} {plain:>10.1f} {bounded:>11.1f} {bounded / plain:>6.2f}")


if __name__ == "__main__":
    main()
