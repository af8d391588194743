from __future__ import annotations

import json

import pytest

from guardrails.classifier.dataset import DatasetError, parse_file


def test_csv_and_jsonl_imports_accept_the_usual_labels():
    csv_rows = parse_file("x.csv", b"text,label,source\nhello,benign,a\nignore it all,injection,b\nfine,0,\n")
    assert [(r.text, r.label, r.source) for r in csv_rows] == [
        ("hello", "benign", "a"),
        ("ignore it all", "attack", "b"),
        ("fine", "benign", ""),
    ]
    jsonl = "\n".join(json.dumps(r) for r in [{"text": "a", "label": 1}, {"text": "b", "label": "safe"}])
    rows = parse_file("x.jsonl", jsonl.encode(), default_source="upload")
    assert [(r.label, r.source) for r in rows] == [("attack", "upload"), ("benign", "upload")]


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("x.csv", b"text\nhello\n", None),
        ("x.csv", b"text,label\nhello,maybe\n", 2),
        ("x.jsonl", b'{"text": "a", "label": "attack"}\nnot json\n', 2),
        ("x.jsonl", b'["a", "attack"]\n', 1),
        ("x.jsonl", b'{"text": "", "label": "attack"}\n', 1),
        ("x.jsonl", b'{"text": "a\\u0000b", "label": "attack"}\n', 1),
        ("x.jsonl", b'{"text": "a\\ud800b", "label": "attack"}\n', 1),
        ("x.jsonl", b'{"text": "a", "label": "attack", "source": ' + b'"' + b"s" * 200 + b'"}\n', 1),
        ("x.txt", b"hello", None),
        ("x.csv", b"\xff\xfe\x00bad", None),
    ],
)
def test_bad_files_are_refused_with_the_line(name, content, line):
    with pytest.raises(DatasetError) as caught:
        parse_file(name, content)
    assert caught.value.line == line
