"""Built-in PII and secret detectors: an RE2 candidate pattern plus a validator each.

The candidate patterns go into the policy's one multi-pattern scan of the original text;
validators run only on the candidates found, and either reject them (a card number that
fails Luhn, an IBAN that fails mod-97) or trim the span to what they recognise.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

# A validator gets the original text and a candidate span and returns the (possibly
# trimmed) span to report, or None to drop the candidate.
Validator = Callable[[str, int, int], tuple[int, int] | None]


@dataclass(frozen=True, slots=True)
class Detector:
    key: str  # the config switch: {"entities": {"email": true}}
    entity: str  # EMAIL, CREDIT_CARD, …, also the typed placeholder
    patterns: tuple[str, ...]  # RE2, matched against the original text
    validator: Validator | None
    priority: int  # on overlapping hits of one rule, the higher priority wins


# --- helpers -----------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def shannon_entropy(token: str) -> float:
    """Bits per character of the token's own character distribution."""
    if not token:
        return 0.0
    n = len(token)
    return -sum((c / n) * math.log2(c / n) for c in Counter(token).values())


def _isalnum_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isalnum()


def _bounded(text: str, start: int, end: int) -> bool:
    """The candidate is not glued to a letter or digit on either side."""
    return not _isalnum_at(text, start - 1) and not _isalnum_at(text, end)


# --- PII ---------------------------------------------------------------------------------


def _prefixes(*items: str | range) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        if isinstance(item, range):
            out.extend(str(p) for p in item)
        else:
            out.append(item)
    return tuple(out)


# (IIN prefixes, allowed lengths) per network.
_CARD_BRANDS: tuple[tuple[tuple[str, ...], frozenset[int]], ...] = (
    (_prefixes("4"), frozenset({13, 16, 19})),  # Visa
    (_prefixes(range(51, 56), range(2221, 2721)), frozenset({16})),  # Mastercard
    (_prefixes("34", "37"), frozenset({15})),  # American Express
    (_prefixes("6011", "65", range(644, 650)), frozenset({16, 17, 18, 19})),  # Discover
    (_prefixes("62"), frozenset({16, 17, 18, 19})),  # UnionPay
    (_prefixes(range(3528, 3590)), frozenset({16, 17, 18, 19})),  # JCB
    (_prefixes(range(300, 306), "36", "38", "39"), frozenset({14, 15, 16, 17, 18, 19})),  # Diners
    (_prefixes("50", range(56, 70)), frozenset(range(12, 20))),  # Maestro
)


def _card_brand_ok(digits: str) -> bool:
    return any(len(digits) in lengths and digits.startswith(prefixes) for prefixes, lengths in _CARD_BRANDS)


def _card_grouping_ok(raw: str) -> bool:
    """Separated numbers are written 4-4-4-4(-1..4) or Amex/Diners style 4-6-5 / 4-6-4."""
    groups = [len(g) for g in raw.replace("-", " ").split(" ")]
    if len(groups) == 1:
        return True
    if groups in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4


def _card_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    raw = text[start:end]
    separators = {c for c in raw if not c.isdigit()}
    if len(separators) > 1 or not _bounded(text, start, end) or not _card_grouping_ok(raw):
        return None
    digits = "".join(c for c in raw if c.isdigit())
    if not luhn_ok(digits) or not _card_brand_ok(digits) or len(set(digits)) == 1:
        return None
    return start, end


IBAN_LENGTHS: Mapping[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_ok(compact: str) -> bool:
    """ISO 13616 check: known country length and mod-97 == 1 (`compact` has no spaces)."""
    compact = compact.upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _iban_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    if _isalnum_at(text, start - 1):
        return None
    expected = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if expected is None:
        return None
    # The candidate pattern is greedy and may run into the next word; keep exactly the
    # country's length of characters (spaces between groups allowed).
    taken = 0
    pos = start
    while pos < end and taken < expected:
        if text[pos] != " ":
            taken += 1
        pos += 1
    if taken != expected or _isalnum_at(text, pos):
        return None
    compact = text[start:pos].replace(" ", "")
    return (start, pos) if iban_ok(compact) else None


_SSN_KNOWN_INVALID = frozenset({"078051120", "219099999"})


def ssn_ok(digits: str) -> bool:
    """SSA rules: no area 000, 666 or 900-999, no group 00, no serial 0000."""
    if len(digits) != 9 or not digits.isdigit() or digits in _SSN_KNOWN_INVALID:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ssn_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    if not _bounded(text, start, end):
        return None
    digits = "".join(c for c in text[start:end] if c.isdigit())
    return (start, end) if ssn_ok(digits) else None


def _phone_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    before = text[start - 1] if start > 0 else " "
    if before.isalnum() or before in "+-/." or _isalnum_at(text, end):
        return None
    if end < len(text) and text[end] in "-/" and _isalnum_at(text, end + 1):
        return None
    # One group of a longer run of digit groups (an IBAN, a card, a table row) is not a
    # phone number.
    if start >= 2 and text[start - 1] in " .-" and text[start - 2].isdigit():
        return None
    if end + 1 < len(text) and text[end] in " .-" and text[end + 1].isdigit():
        return None
    raw = text[start:end]
    digits = "".join(c for c in raw if c.isdigit())
    if raw.startswith("+"):
        ok = 8 <= len(digits) <= 15
    elif raw.startswith("0"):
        ok = 9 <= len(digits) <= 12
    else:
        ok = len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")
    return (start, end) if ok and len(set(digits)) > 2 else None


def _ipv4_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    before = text[start - 1] if start > 0 else " "
    if before.isalnum() or before == "." or _isalnum_at(text, end):
        return None
    if end + 1 < len(text) and text[end] == "." and text[end + 1].isdigit():
        return None
    return start, end


def _ipv6_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    candidate = text[start:end]
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before == ":" or after.isalnum() or after == ":":
        return None
    # Code is full of "a::b" and "std::x": ask for two groups and at least one digit.
    if sum(1 for group in candidate.split(":") if group) < 2 or not any(c.isdigit() for c in candidate):
        return None
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return None
    return start, end


def _email_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    local = text[start : text.index("@", start)]
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return start, end


def _ip_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    if ":" in text[start:end]:
        return _ipv6_validator(text, start, end)
    return _ipv4_validator(text, start, end)


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"

PII_DETECTORS: tuple[Detector, ...] = (
    Detector(
        "email",
        "EMAIL",
        # Internationalised addresses (RFC 6531) have letters beyond ASCII on both sides.
        (r"[\pL\pN._%+\-]+@[\pL\pN\-]+(?:\.[\pL\pN\-]+)*\.\pL{2,24}",),
        _email_validator,
        3,
    ),
    Detector(
        "phone",
        "PHONE",
        (
            # international, with a leading +
            r"\+[1-9]\d{0,2}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{1,4}){1,5}",
            # North American: (415) 555-0123, 415-555-0123, 415.555.0123, 1 415 555 0123
            r"(?:\b1[ .\-]?)?(?:\([2-9]\d{2}\)[ ]?|\b[2-9]\d{2}[ .\-])[2-9]\d{2}[ .\-]\d{4}\b",
            # national with trunk 0: 030 12345678, 06 12 34 56 78, 020 7946 0958
            r"\b0[1-9]\d{0,3}[ .\-/]?\d{2,4}(?:[ .\-]?\d{2,4}){1,3}\b",
        ),
        _phone_validator,
        1,
    ),
    Detector("credit_card", "CREDIT_CARD", (r"\b(?:\d[ \-]?){12,18}\d\b",), _card_validator, 6),
    Detector(
        "iban",
        "IBAN",
        (r"(?i)\b[A-Z]{2}\d{2}[ ]?(?:[A-Z0-9][ ]?){10,30}[A-Z0-9]",),
        _iban_validator,
        5,
    ),
    Detector(
        "us_ssn",
        "US_SSN",
        (r"\b\d{3}-\d{2}-\d{4}\b", r"\b\d{3} \d{2} \d{4}\b"),
        _ssn_validator,
        4,
    ),
    Detector(
        "ip_address",
        "IP_ADDRESS",
        (
            rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b",
            r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}",
        ),
        _ip_validator,
        2,
    ),
)


# --- secrets -----------------------------------------------------------------------------


def _openai_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    token = text[start:end]
    if token.startswith("sk-ant-") or not any(c.isdigit() for c in token):
        return None
    return (start, end) if shannon_entropy(token) >= 3.0 else None


def _word_secret_validator(text: str, start: int, end: int) -> tuple[int, int] | None:
    return (start, end) if not _isalnum_at(text, end) else None


@lru_cache(maxsize=64)
def make_entropy_validator(threshold: float) -> Validator:
    """One validator per threshold, shared by the rules that use it (the engine validates a
    span once per validator, however many rules consume it)."""

    def validate(text: str, start: int, end: int) -> tuple[int, int] | None:
        token = text[start:end].strip("=")
        has_digit = any(c.isdigit() for c in token)
        has_lower = any(c.islower() for c in token)
        has_upper = any(c.isupper() for c in token)
        # Three character classes: long lowercase paths, hex digests and UUIDs (at most
        # 4 bits of entropy anyway) and snake_case identifiers are not secrets.
        if not (has_digit and has_lower and has_upper):
            return None
        return (start, end) if shannon_entropy(token) >= threshold else None

    return validate


def entropy_pattern(min_length: int) -> str:
    # "=" only as base64 padding, so "token=<secret>" yields the secret alone.
    return rf"[A-Za-z0-9+/_\-]{{{min_length},}}={{0,2}}"


SECRET_DETECTORS: tuple[Detector, ...] = (
    Detector(
        "aws_access_key",
        "AWS_ACCESS_KEY",
        (
            r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
            r"(?i)aws_?secret_?access_?key\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}\b",
        ),
        None,
        5,
    ),
    Detector(
        "github_token",
        "GITHUB_TOKEN",
        (r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",),
        None,
        5,
    ),
    Detector(
        "openai_key",
        "OPENAI_KEY",
        (r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",),
        _openai_validator,
        4,
    ),
    Detector("anthropic_key", "ANTHROPIC_KEY", (r"\bsk-ant-[A-Za-z0-9_\-]{20,}",), None, 5),
    Detector(
        "private_key",
        "PRIVATE_KEY",
        (
            r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        ),
        None,
        6,
    ),
    Detector(
        "connection_string",
        "CONNECTION_STRING",
        (
            r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql"
            r"|sqlserver|clickhouse|jdbc:[a-z0-9]+)://[^\s:@/]+:[^\s@/]+@[^\s\"'<>]+",
            r"(?i)\b(?:server|data source|host)\s*=[^\r\n]*?\b(?:password|pwd)\s*=\s*[^;\s]{3,}",
        ),
        None,
        5,
    ),
    Detector("slack_token", "SLACK_TOKEN", (r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",), None, 5),
    Detector("stripe_key", "STRIPE_KEY", (r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",), None, 5),
    Detector(
        "google_api_key",
        "GOOGLE_API_KEY",
        (r"\bAIza[0-9A-Za-z_\-]{35}",),
        _word_secret_validator,
        5,
    ),
    Detector(
        "jwt",
        "JWT",
        (r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",),
        None,
        5,
    ),
)

# The high-entropy detector's pattern depends on the rule's min_length and its validator on
# the rule's threshold, so the compiler builds it per rule.
HIGH_ENTROPY_KEY = "high_entropy"
HIGH_ENTROPY_ENTITY = "SECRET"
HIGH_ENTROPY_PRIORITY = 0

PII_KEYS = tuple(d.key for d in PII_DETECTORS)
SECRET_KEYS = (*(d.key for d in SECRET_DETECTORS), HIGH_ENTROPY_KEY)
