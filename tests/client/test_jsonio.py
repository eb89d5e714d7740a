"""The ``_json``-based codec gives what the ``json`` package gives."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from agentmon.client import jsonio
from agentmon.client.jsonio import json_dumps, json_loads


@pytest.mark.parametrize(
    "value",
    [
        {"text": 'é ✓ \u2028 "quoted" \\ \n', "list": [1, -2.5, 3e-7, True, False, None]},
        {"nested": {"empty": {}, "big": 2**70, "nan": float("inf")}},
        [],
        "plain",
    ],
)
def test_json_codec_matches_the_json_package(value: Any) -> None:
    encoded = json_dumps(value)
    assert encoded == json.dumps(value, separators=(",", ":"))
    assert json_loads(f" {encoded}\n") == json.loads(encoded)


@pytest.mark.parametrize("text", ["{", '{"a": 1} x', "[1,]", "{'a': 1}", ""])
def test_json_codec_rejects_what_the_json_package_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        json_loads(text)


def test_json_codec_falls_back_to_the_json_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "_json", None)
    loads, dumps = jsonio._json_codec()
    assert loads(dumps({"a": [1, "b"]})) == {"a": [1, "b"]}
    assert loads.__module__ == "json"
