"""The LLM client façade: import from here, not from the submodules.

from governance.llm import ChatMessage, ChatRequest, ProviderConfig, get_client

result = get_client().complete(provider, ChatRequest(model="gpt-4o-mini",
                               messages=(ChatMessage("user", "hi"),)))
"""

from governance.llm.breaker import (
    BreakerPermit,
    BreakerRegistry,
    BreakerSnapshot,
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    MemoryBreakerStore,
    StateChange,
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
from governance.llm.hooks import (
    clear_subscribers,
    isolated_subscribers,
    on_breaker_state_change,
    on_model_call,
    publish_breaker_state_change,
    publish_model_call,
    remove_breaker_state_change_subscriber,
    remove_model_call_subscriber,
)
from governance.llm.types import (
    BreakerConfig,
    CallContext,
    ChatMessage,
    ChatRequest,
    ChatResult,
    ProviderConfig,
    RetryConfig,
    Usage,
    UsageEvent,
    compute_request_hash,
)

__all__ = [
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
    "clear_subscribers",
    "compute_request_hash",
    "configure",
    "get_client",
    "isolated_subscribers",
    "on_breaker_state_change",
    "on_model_call",
    "publish_breaker_state_change",
    "publish_model_call",
    "remove_breaker_state_change_subscriber",
    "remove_model_call_subscriber",
]
