"""The starter training set: written and generated for this project, shipped with it.

`python -m guardrails.classifier.starter` regenerates ``guardrails/classifier/data/starter.jsonl``
from the families in `attacks` and `benign` (deterministic: the same code gives the same
file). No public prompt-injection data set is used or copied here: those are kept for
measuring (``bench/guard_quality.py``), and one that leaked into training would make that
measure worthless.
"""
