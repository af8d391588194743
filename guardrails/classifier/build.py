"""Train the shipped classifier version from the starter set and write it next to the code.

    python -m guardrails.classifier.build --version 2 [--default]

Writes ``artifacts/prompt-injection-<version>.npz`` (the artifact), ``…report.json`` (the held-out
metrics and the precision/recall curve the admin shows) and records the digest and the
calibrated threshold in ``artifacts/index.json``. Deterministic for the same starter set and
code. Needs scikit-learn (a dependency of the project).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from guardrails.classifier.dataset import load_starter
from guardrails.classifier.shipped import ARTIFACTS_DIR as SHIPPED_DIR
from guardrails.classifier.shipped import INDEX_PATH as SHIPPED_INDEX
from guardrails.classifier.training import TrainingConfig, train

NAME = "prompt-injection"


def _say(message: str) -> None:
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", type=int, required=True)
    parser.add_argument("--default", action="store_true", help="make it the version new default policies use")
    parser.add_argument("--target-fpr", type=float, default=TrainingConfig().target_fpr)
    args = parser.parse_args(argv)
    config = TrainingConfig(target_fpr=args.target_fpr)
    started = time.monotonic()
    trained = train(load_starter(), config, progress=_say)
    label = f"{NAME}-{args.version}"
    blob, digest = trained.artifact(name=NAME, version=args.version, config=config.features)
    SHIPPED_DIR.mkdir(parents=True, exist_ok=True)
    (SHIPPED_DIR / f"{label}.npz").write_bytes(blob)
    report = trained.report.to_dict()
    (SHIPPED_DIR / f"{label}.report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    index = json.loads(SHIPPED_INDEX.read_text()) if SHIPPED_INDEX.exists() else {"models": []}
    models = [m for m in index["models"] if m["label"] != label]
    if args.default:
        models = [{**m, "default": False} for m in models]
    models.append(
        {
            "label": label,
            "sha256": digest,
            "file": f"{label}.npz",
            "threshold": trained.report.threshold,
            "default": bool(args.default or not models),
        }
    )
    SHIPPED_INDEX.write_text(json.dumps({"models": models}, indent=1) + "\n")
    overall = report["overall"]
    sys.stdout.write(
        f"{label}: {len(blob)} bytes, sha256 {digest}, threshold {trained.report.threshold} "
        f"(held-out recall {overall['recall']}, FPR {overall['false_positive_rate']}) "
        f"in {time.monotonic() - started:.0f}s\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
