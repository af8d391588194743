"""The LLM client façade: import from here, not from the submodules.

from governance.llm import ChatMessage, ChatRequest, ProviderConfig, get_client

result = get_client().complete(provider, ChatRequest(model="gpt-4o-mini",
                               messages=(ChatMessage("user", "hi"),)))
"""

from governance.llm.breaker import (
    BreakerPermit,
    BreakerRegistry,
    BreakerSnapshot,
    BreakerStore,
    CircuitBreaker,
    MemoryBreakerStore,
)
from governance.llm.breaker_redis import RedisBreakerStore
from governance.llm.client import LlmClient, configure, get_client
from governance.llm.errors import (
    BreakerOpenError,
    LlmError,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    RetryBudgetExhaustedError,
)
from governance.llm.hooks import BREAKER_STATE_CHANGED, PROVIDER_CALL_ATTEMPTED
from governance.llm.types import (
    BreakerConfig,
    BreakerState,
    CallContext,
    ChatMessage,
    ChatRequest,
    ChatResult,
    ProviderConfig,
    RetryConfig,
    StateChange,
    Usage,
    UsageEvent,
    compute_request_hash,
)

__all__ = [
    "BREAKER_STATE_CHANGED",
    "PROVIDER_CALL_ATTEMPTED",
    "BreakerConfig",
    "BreakerOpenError",
    "BreakerPermit",
    "BreakerRegistry",
    "BreakerSnapshot",
    "BreakerState",
    "BreakerStore",
    "CallContext",
    "ChatMessage",
    "ChatRequest",
    "ChatResult",
    "CircuitBreaker",
    "LlmClient",
    "LlmError",
    "MemoryBreakerStore",
    "ProviderConfig",
    "ProviderConfigError",
    "ProviderConnectionError",
    "ProviderHTTPError",
    "ProviderResponseError",
    "ProviderTimeoutError",
    "RedisBreakerStore",
    "RetryBudgetExhaustedError",
    "RetryConfig",
    "StateChange",
    "Usage",
    "UsageEvent",
    "compute_request_hash",
    "configure",
    "get_client",
]
