"""Wire formats of the supported providers, plus the offline simulator.

Each HTTP adapter is two pure functions, ``build_chat_call`` (request → path,
headers, JSON) and ``parse_chat_response`` (JSON → ``ProviderReply``); the
client owns the network, the breaker and the retries.
"""

from governance.llm.providers.base import HttpCall, ProviderReply

__all__ = ["HttpCall", "ProviderReply"]
