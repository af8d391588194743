"""Guard rule kinds. Each module registers one kind with `register_kind`; importing this
package registers the built-in ones.

Adding a kind: write ``guardrails/engine/kinds/<name>.py`` with a `RuleKind` subclass
decorated with ``@register_kind`` (see `guardrails.engine.kinds.base` for what a kind
declares), and add its module to the import line below. Nothing else names a kind.
"""

from guardrails.engine.kinds import (  # noqa: F401 - imported to register the built-in kinds
    canary,
    classifier,
    json_schema,
    length,
    llm_guard,
    local_classifier,
    phrases,
    pii,
    prompt_leak,
    regex,
    secrets,
)
from guardrails.engine.kinds.base import (
    KINDS,
    Assessment,
    Finding,
    KindRegistry,
    ModelWindow,
    PatternUse,
    RuleError,
    RuleKind,
    View,
    register_kind,
)

__all__ = [
    "KINDS",
    "Assessment",
    "Finding",
    "KindRegistry",
    "ModelWindow",
    "PatternUse",
    "RuleError",
    "RuleKind",
    "View",
    "register_kind",
]
