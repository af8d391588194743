"""Regenerate the shipped starter set: ``python -m guardrails.classifier.starter [--out PATH]``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from guardrails.classifier.dataset import STARTER_PATH, write_jsonl
from guardrails.classifier.starter.generate import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=STARTER_PATH)
    args = parser.parse_args(argv)
    examples = generate()
    write_jsonl(args.out, examples)
    labels = Counter(e.label for e in examples)
    sys.stdout.write(f"wrote {len(examples)} examples to {args.out}: {dict(labels)}\n")
    for (label, category), count in sorted(Counter((e.label, e.category) for e in examples).items()):
        sys.stdout.write(f"  {label:<7} {category:<22} {count:>5}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
