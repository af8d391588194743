"""Plain-Python pricing: token buckets in, integer nano-dollars out. No Django.

Money is kept as integer **nanos** (billionths of a US dollar) in every ledger and counter
column: integers sum exactly on SQLite and PostgreSQL alike and compare cheaply in the
budget's conditional UPDATE. Prices themselves are ``Decimal`` USD per million tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from governance.llm import Usage

NANOS_PER_USD = 1_000_000_000
_TOKENS_PER_PRICE_UNIT = Decimal(1_000_000)
_NANOS = Decimal(NANOS_PER_USD)


def usd_to_nanos(value: Decimal | int | str) -> int:
    """Dollars to nanos, rounded half-up to the nearest nano-dollar."""
    return int((Decimal(value) * _NANOS).to_integral_value(rounding=ROUND_HALF_UP))


def nanos_to_usd(nanos: int) -> Decimal:
    return Decimal(nanos).scaleb(-9)


def nanos_to_usd_or_none(nanos: int | None) -> Decimal | None:
    return None if nanos is None else nanos_to_usd(nanos)


@dataclass(frozen=True, slots=True)
class PriceTerms:
    """USD per million tokens for each bucket, and the optional long-context tier.

    Above ``long_context_threshold`` input tokens (all input buckets together) the whole
    request is billed at the ``long_*`` prices; an unset long price falls back to the base one.
    """

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    long_context_threshold: int | None = None
    long_input: Decimal | None = None
    long_output: Decimal | None = None
    long_cache_read: Decimal | None = None
    long_cache_write: Decimal | None = None

    def tier(self, input_tokens_total: int) -> PriceTerms:
        """The terms that apply to a request with this many input tokens."""
        if self.long_context_threshold is None or input_tokens_total <= self.long_context_threshold:
            return self
        return PriceTerms(
            input=self.long_input if self.long_input is not None else self.input,
            output=self.long_output if self.long_output is not None else self.output,
            cache_read=self.long_cache_read if self.long_cache_read is not None else self.cache_read,
            cache_write=self.long_cache_write if self.long_cache_write is not None else self.cache_write,
        )


def cost_nanos(usage: Usage, terms: PriceTerms) -> int:
    """The cost of one call. Each normalised bucket is priced once, so cached tokens never count twice."""
    t = terms.tier(usage.input_tokens_total)
    usd = (
        usage.uncached_input_tokens * t.input
        + usage.cache_read_tokens * t.cache_read
        + usage.cache_write_tokens * t.cache_write
        + usage.output_tokens * t.output
    ) / _TOKENS_PER_PRICE_UNIT
    return usd_to_nanos(usd)


def worst_case_nanos(*, input_tokens: int, max_output_tokens: int, terms: PriceTerms) -> int:
    """A budget hold: the most a call with at most this many input tokens and ``max_output_tokens``
    can be billed, whatever the provider makes of it.

    Every input token is priced at the dearest input bucket (a cache write costs more than an
    uncached read at Anthropic), every allowed output token is produced, and both context tiers
    are tried: with ``input_tokens`` an upper bound, the real call may land in either tier.
    """
    worst = 0
    for tier in (terms.tier(0), terms.tier(input_tokens)):
        per_input = max(tier.input, tier.cache_read, tier.cache_write)
        usd = (input_tokens * per_input + max_output_tokens * tier.output) / _TOKENS_PER_PRICE_UNIT
        worst = max(worst, usd_to_nanos(usd))
    return worst


#: Tokens a chat format adds around each message (role markers, separators) and around the whole
#: conversation; generous for OpenAI's and Anthropic's formats (3 to 7 in practice).
MESSAGE_OVERHEAD_TOKENS = 8
REQUEST_OVERHEAD_TOKENS = 16


def input_tokens_upper_bound(texts: Iterable[str]) -> int:
    """At least as many tokens as any tokenizer in use can make of these messages.

    Byte-level BPE (OpenAI, Anthropic, Llama-family models behind vLLM or Ollama) never makes
    more tokens than UTF-8 bytes, since every token covers at least one byte; the message
    framing adds a few special tokens each. A bound, not an estimate: it is typically 3-4x the
    real count, which only makes the hold larger, never the settlement.
    """
    total = REQUEST_OVERHEAD_TOKENS
    for text in texts:
        total += len(text.encode("utf-8", "surrogatepass")) + MESSAGE_OVERHEAD_TOKENS
    return total


def usage_from_openai(*, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Usage:
    """OpenAI counts cached tokens inside ``prompt_tokens``: take them out of the uncached bucket."""
    if cached_tokens > prompt_tokens:
        raise ValueError("cached_tokens cannot exceed prompt_tokens")
    return Usage(
        uncached_input_tokens=prompt_tokens - cached_tokens,
        cache_read_tokens=cached_tokens,
        output_tokens=completion_tokens,
    )


def usage_from_anthropic(
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read_input_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
) -> Usage:
    """Anthropic's ``input_tokens`` already excludes cache reads and writes: keep the buckets as given."""
    return Usage(
        uncached_input_tokens=input_tokens,
        cache_read_tokens=cache_read_input_tokens,
        cache_write_tokens=cache_creation_input_tokens,
        output_tokens=output_tokens,
    )


def usage_from_total_input(
    *, input_tokens: int, output_tokens: int, cached_tokens: int = 0, cache_write_tokens: int = 0
) -> Usage:
    """The ingest API's convention (OpenAI-style, whatever the provider): ``input_tokens`` is the
    total input including cache reads (``cached_tokens``) and cache writes (``cache_write_tokens``)."""
    if cached_tokens + cache_write_tokens > input_tokens:
        raise ValueError("cached_tokens + cache_write_tokens cannot exceed input_tokens")
    return Usage(
        uncached_input_tokens=input_tokens - cached_tokens - cache_write_tokens,
        cache_read_tokens=cached_tokens,
        cache_write_tokens=cache_write_tokens,
        output_tokens=output_tokens,
    )
