"""Labelled examples in and out of files: the shipped starter set, and what an editor imports
(CSV or JSONL) in the admin. Plain Python: parsing and validation live here so that the
admin, the training code and the benchmark read files the same way."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

STARTER_PATH = Path(__file__).resolve().parent / "data" / "starter.jsonl"

ATTACK = "attack"
BENIGN = "benign"
LABELS = (ATTACK, BENIGN)
MAX_TEXT_CHARS = 65_536
MAX_FIELD_CHARS = 100
MAX_IMPORT_ROWS = 50_000

_LABEL_ALIASES = {
    "attack": ATTACK,
    "injection": ATTACK,
    "jailbreak": ATTACK,
    "malicious": ATTACK,
    "1": ATTACK,
    "true": ATTACK,
    "benign": BENIGN,
    "safe": BENIGN,
    "clean": BENIGN,
    "0": BENIGN,
    "false": BENIGN,
}


class DatasetError(ValueError):
    """A file or row that cannot be imported; ``line`` is 1-based where it is known."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


class HasExample(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True, slots=True)
class LabeledText:
    text: str
    label: str
    category: str = ""
    language: str = ""
    source: str = ""

    @property
    def is_attack(self) -> bool:
        return self.label == ATTACK

    def to_dict(self) -> dict[str, str]:
        return {
            "text": self.text,
            "label": self.label,
            "category": self.category,
            "language": self.language,
            "source": self.source,
        }


def _clean_field(value: Any, name: str, line: int | None) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise DatasetError(f"{name} must be a string", line=line)
    text = str(value).strip()
    if len(text) > MAX_FIELD_CHARS:
        raise DatasetError(f"{name} is longer than {MAX_FIELD_CHARS} characters", line=line)
    return text


def row_to_example(row: Mapping[str, Any], *, line: int | None = None, default_source: str = "") -> LabeledText:
    """Validate one imported row. ``label`` accepts attack/benign and the usual aliases
    (injection, safe, 1, 0, true, false)."""
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DatasetError("text is missing or empty", line=line)
    if len(text) > MAX_TEXT_CHARS:
        raise DatasetError(f"text is longer than {MAX_TEXT_CHARS} characters", line=line)
    if "\x00" in text:
        raise DatasetError("text contains a NUL character", line=line)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DatasetError("text is not valid Unicode (lone surrogate)", line=line) from exc
    raw_label = row.get("label")
    label = _LABEL_ALIASES.get(str(raw_label).strip().lower()) if isinstance(raw_label, str | int | bool) else None
    if label is None:
        raise DatasetError(f"label must be one of attack/benign (got {str(raw_label)[:40]!r})", line=line)
    return LabeledText(
        text=text,
        label=label,
        category=_clean_field(row.get("category"), "category", line),
        language=_clean_field(row.get("language"), "language", line),
        source=_clean_field(row.get("source"), "source", line) or default_source,
    )


def parse_jsonl(content: str, *, default_source: str = "") -> list[LabeledText]:
    out: list[LabeledText] = []
    for number, raw in enumerate(io.StringIO(content), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"not JSON: {exc.msg}", line=number) from exc
        if not isinstance(row, dict):
            raise DatasetError("each line must be a JSON object", line=number)
        out.append(row_to_example(row, line=number, default_source=default_source))
        if len(out) > MAX_IMPORT_ROWS:
            raise DatasetError(f"more than {MAX_IMPORT_ROWS} rows")
    return out


def parse_csv(content: str, *, default_source: str = "") -> list[LabeledText]:
    reader = csv.DictReader(io.StringIO(content))
    if reader.fieldnames is None or "text" not in reader.fieldnames or "label" not in reader.fieldnames:
        raise DatasetError("the CSV needs a header row with at least 'text' and 'label' columns")
    out: list[LabeledText] = []
    try:
        for row in reader:
            out.append(row_to_example(row, line=reader.line_num, default_source=default_source))
            if len(out) > MAX_IMPORT_ROWS:
                raise DatasetError(f"more than {MAX_IMPORT_ROWS} rows")
    except csv.Error as exc:
        raise DatasetError(f"bad CSV: {exc}", line=reader.line_num) from exc
    return out


def parse_file(name: str, content: bytes, *, default_source: str = "") -> list[LabeledText]:
    """Parse an uploaded file by its extension (``.jsonl``/``.ndjson`` or ``.csv``)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError("the file is not UTF-8") from exc
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return parse_jsonl(text, default_source=default_source)
    if lowered.endswith(".csv"):
        return parse_csv(text, default_source=default_source)
    raise DatasetError("upload a .csv or .jsonl file")


def read_jsonl(path: Path) -> list[LabeledText]:
    return parse_jsonl(path.read_text(encoding="utf-8"))


def load_starter() -> list[LabeledText]:
    """The shipped starter set."""
    return read_jsonl(STARTER_PATH)


def write_jsonl(path: Path, examples: Iterable[HasExample]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for e in examples:
            row = {"text": e.text, "label": e.label, "category": e.category, "language": e.language, "source": e.source}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def iter_labels(examples: Iterable[LabeledText]) -> Iterator[bool]:
    return (e.is_attack for e in examples)
