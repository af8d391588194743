"""The streaming output guard: what is sent is always what the full-text guard would send."""

from __future__ import annotations

import random
import re

import pytest

from guardrails.engine import DEFAULT_POLICY_RULES, FailMode, PolicySpec, RuleSpec, compile_policy
from guardrails.engine import check as engine_check
from orchestration.engine.holdback import Replacement, StreamBlocked, StreamGuard, WindowVerdict

SECRET = re.compile(r"sk-[a-z0-9]{20,}")
EMAIL = re.compile(r"[a-z.]+@[a-z]+\.[a-z]{2,}")


def regex_screen(text: str) -> WindowVerdict:
    found = [Replacement(m.start(), m.end(), "[SECRET]") for m in SECRET.finditer(text)]
    found += [Replacement(m.start(), m.end(), "[EMAIL]") for m in EMAIL.finditer(text)]
    blocked = "FORBIDDEN" in text
    return WindowVerdict(blocked=blocked, replacements=tuple(found), reason="forbidden word" if blocked else "")


def redact_whole(text: str) -> str:
    return EMAIL.sub("[EMAIL]", SECRET.sub("[SECRET]", text))


def split_randomly(text: str, rng: random.Random, max_chunk: int = 7) -> list[str]:
    chunks, i = [], 0
    while i < len(text):
        size = rng.randint(1, max_chunk)
        chunks.append(text[i : i + size])
        i += size
    return chunks


def stream(guard: StreamGuard, chunks: list[str], sent: list[str] | None = None) -> str:
    out = []
    for chunk in chunks:
        piece = guard.feed(chunk)
        out.append(piece)
        if sent is not None:
            sent.append("".join(out))
    out.append(guard.finish())
    return "".join(out)


TEXT = (
    "Here is the config you asked for. The key is sk-abcdefghij0123456789xyz and the owner is "
    "jane.doe@example.com; rotate it monthly. " + "Filler sentence to push the stream along. " * 8 + "Second key: "
    "sk-zzzzzzzzzzzzzzzzzzzz9 and done."
)


@pytest.mark.parametrize("seed", range(40))
def test_any_chunking_sends_exactly_the_full_text_redaction(seed):
    rng = random.Random(seed)
    guard = StreamGuard(regex_screen, lookbehind=40, min_step=rng.choice([0, 1, 8, 32]))
    sent_so_far: list[str] = []
    out = stream(guard, split_randomly(TEXT, rng), sent_so_far)
    assert out == redact_whole(TEXT)
    for prefix in sent_so_far:
        # Nothing ever sent contains any piece of a secret: every prefix is a prefix of the redacted text.
        assert redact_whole(TEXT).startswith(prefix)
        assert "sk-" not in prefix
        assert "@example" not in prefix


def test_a_secret_split_across_two_chunks_never_leaks_its_first_half():
    guard = StreamGuard(regex_screen, lookbehind=32, min_step=0)
    first = "x" * 100 + " token sk-abcdefghij"
    second = "0123456789 end"
    sent = guard.feed(first)
    assert "sk-" not in sent
    assert sent == ("x" * 100 + " token sk-abcdefghij")[: len(first) - 32]
    rest = guard.feed(second) + guard.finish()
    assert sent + rest == "x" * 100 + " token [SECRET] end"


def test_text_is_held_back_by_the_lookbehind_and_released_at_the_end():
    guard = StreamGuard(regex_screen, lookbehind=10, min_step=0)
    assert guard.feed("hello") == ""
    assert guard.held == 5
    assert guard.feed(" world, how are you") == "hello world, h"  # 24 received, the last 10 held
    assert guard.held == 10
    assert guard.finish() == "ow are you"
    assert guard.text == "hello world, how are you"


def test_min_step_batches_screens():
    screens_per_token = StreamGuard(regex_screen, lookbehind=20, min_step=0)
    batched = StreamGuard(regex_screen, lookbehind=20, min_step=50)
    tokens = ["word "] * 200
    assert stream(screens_per_token, tokens) == stream(batched, tokens) == "word " * 200
    assert batched.screens * 8 < screens_per_token.screens


def test_a_block_stops_the_stream_and_nothing_after_the_release_point_is_sent():
    guard = StreamGuard(regex_screen, lookbehind=30, min_step=0)
    sent = guard.feed("a harmless start " * 5)
    with pytest.raises(StreamBlocked) as excinfo:
        guard.feed("then the FORBIDDEN word")
    assert excinfo.value.released == len(sent)
    assert "FORBIDDEN" not in sent
    with pytest.raises(RuntimeError):
        guard.feed("more")
    assert guard.finish() == ""


def test_a_match_longer_than_the_lookbehind_is_still_redacted_after_the_release_point():
    guard = StreamGuard(regex_screen, lookbehind=5, min_step=0)
    sent = guard.feed("key sk-" + "a" * 30)
    rest = guard.feed("b" * 10 + " end") + guard.finish()
    # The documented bound: the part before the release point was sent, the rest is redacted.
    assert (sent + rest).endswith("[SECRET] end")


def test_an_empty_stream_is_screened_once():
    guard = StreamGuard(regex_screen)
    assert guard.finish() == ""
    assert guard.screens == 1


# --- with the real guard engine and the default policy's output rules -----------------------------


def default_output_screen():
    rules = tuple(
        RuleSpec.from_dict(rule, id=f"r{i}")
        for i, rule in enumerate(DEFAULT_POLICY_RULES)
        if rule["stage"] in ("output", "both")
    )
    compiled = compile_policy(
        PolicySpec(id="stream-test", slug="default", version=1, fail_mode=FailMode.OPEN, rules=rules)
    )

    def screen(text: str) -> WindowVerdict:
        result = engine_check(compiled, text=text, stage="output")
        return WindowVerdict(
            blocked=result.blocked,
            replacements=tuple(Replacement(r.start, r.end, r.placeholder) for r in result.redactions),
        )

    return compiled, screen


@pytest.mark.parametrize("seed", range(10))
def test_default_output_policy_streamed_equals_checked_whole(seed):
    compiled, screen = default_output_screen()
    text = (
        "Sure. Your OpenAI key is sk-proj-Q7fT2mX9kLp4Rz8WvB3nY6cH1dJ5sA0e and the admin mail is "
        "ops.lead@example.org. " + "More words follow here. " * 12 + "Call +1 415 555 0100 for help."
    )
    whole = engine_check(compiled, text=text, stage="output").text
    assert "sk-proj" not in whole
    assert "ops.lead" not in whole
    rng = random.Random(seed)
    sent: list[str] = []
    out = stream(StreamGuard(screen, lookbehind=64, min_step=8), split_randomly(text, rng, 12), sent)
    assert out == whole
    assert not any("sk-proj" in s or "ops.lead@" in s for s in sent)
