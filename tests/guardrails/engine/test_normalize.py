# ruff: noqa: RUF001 - obfuscated attacks are made of ambiguous characters
from __future__ import annotations

import random

import pytest

from guardrails.engine.normalize import fold_char, normalize, skeleton


@pytest.mark.parametrize(
    "obfuscated",
    [
        "ignore",
        "IGNORE",
        "Ign0re",
        "1gn0r3",
        "I g n o r e",
        "i.g.n.o.r.e",
        "i-g-n-o-r-e",
        "ig\u200bnore",  # zero-width space
        "ig\u200dn\u2060ore",  # zero-width joiner, word joiner
        "ig\u202enore",  # bidi override
        "ign\U000e0041\U000e0042ore",  # Unicode tag characters
        "ig\u00adnore",  # soft hyphen
        "ig\x00no\x08re",  # ASCII control characters
        "іgnоrе",  # Cyrillic look-alikes
        "ΙGΝΟRΕ",  # Greek capitals
        "ｉｇｎｏｒｅ",  # fullwidth
        "𝐢𝐠𝐧𝐨𝐫𝐞",  # mathematical bold
        "ìgnóré",  # accents
        "ᴉgnore".replace("ᴉ", "ɪ"),  # small capital I
    ],
)
def test_obfuscations_share_the_skeleton_of_ignore(obfuscated: str) -> None:
    assert skeleton(obfuscated) == "ignore"


def test_one_l_and_capital_i_fold_to_one_letter() -> None:
    assert skeleton("all") == skeleton("a11") == skeleton("aII") == skeleton("aLl") == "aii"


def test_leetspeak_table() -> None:
    assert skeleton("0 1 3 4 5 7 @ $") == "oieastas"  # spaced run joined as well
    assert skeleton("p@$$w0rd") == "password"


def test_spaced_letters_are_joined_but_words_are_not() -> None:
    assert skeleton("I g n o r e all previous") == "ignore aii previous"
    assert skeleton("a b") == "a b"  # two letters are not a run
    assert skeleton("version 1.2 of a b test") == "version i.2 of a b test"
    assert normalize("I g n o r e").folded == "ignore"


def test_folded_view_is_readable_and_keeps_leetspeak() -> None:
    view = normalize("Ign0re “ALL” — Prévious")
    assert view.folded == 'ign0re "all" - previous'
    assert view.skeleton == 'ignore "aii" - previous'


def test_expansions_and_case_folding() -> None:
    assert fold_char("ß") == "ss"
    assert fold_char("ﬁ") == "fi"
    assert fold_char("Ⅻ") == "xii"
    assert fold_char("\u200b") == ""
    assert fold_char("\U000e0061") == ""
    assert fold_char("…") == "..."


def _check_spans(text: str) -> None:
    """Every span of the skeleton maps back to a span of the original whose skeleton is
    exactly that piece (for spans that start and end on whole folded characters)."""
    view = normalize(text, collapse=False)
    out = view.skeleton
    for start in range(len(out)):
        for end in range(start + 1, min(len(out), start + 6) + 1):
            o_start, o_end = view.to_original(start, end)
            assert 0 <= o_start <= o_end <= len(text)
            piece = skeleton_no_collapse(text[o_start:o_end])
            assert out[start:end] in piece


def skeleton_no_collapse(text: str) -> str:
    return normalize(text, collapse=False).skeleton


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii text",
        "straße ﬁle café",
        "a\u200bb\u200cc tag\U000e0041\U000e0042x",
        "Ｆｕｌｌ ｗｉｄｔｈ and 𝐛𝐨𝐥𝐝",
        "mixed Кириллица and Ελληνικά",
        "emoji 🙂 and … ellipsis",
    ],
)
def test_offset_map_round_trips(text: str) -> None:
    _check_spans(text)


def test_offset_map_on_random_unicode() -> None:
    rng = random.Random(1234)
    alphabet = "abcILl01 .-\u200b\u200dßﬁé\u0301Аа𝐚\U000e0041…“”\x00\x07ℌ①"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        _check_spans(text)


def test_collapsed_span_maps_to_original() -> None:
    text = "Please I g n o r e this"
    view = normalize(text)
    start = view.skeleton.index("ignore")
    o_start, o_end = view.to_original(start, start + len("ignore"))
    assert text[o_start:o_end] == "I g n o r e"


def test_zero_width_inside_a_span_is_covered() -> None:
    text = "say ig\u200bnore now"
    view = normalize(text)
    start = view.skeleton.index("ignore")
    assert view.to_original(start, start + 6) == (4, 11)


def test_ascii_path_has_identity_map() -> None:
    view = normalize("Hello World")
    assert view.to_original(0, 5) == (0, 5)
    assert view.skeleton == "heiio worid"
