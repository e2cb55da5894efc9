"""JSON logs: one object per line, with the call's fields pulled out of the message."""

from __future__ import annotations

import json
import logging

from avatarcall.logs import JsonFormatter


def test_a_log_line_is_a_json_object_with_its_fields() -> None:
    record = logging.LogRecord("avatarcall.calls.telemetry", logging.INFO, __file__, 1,
                               "page event call=%s role=%s link=%s kind=%s", ("abc123", "customer",
                                                                               "avatar", "live"), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "info" and line["logger"] == "avatarcall.calls.telemetry"
    assert line["message"] == "page event call=abc123 role=customer link=avatar kind=live"
    assert (line["call"], line["role"], line["link"], line["kind"]) == ("abc123", "customer", "avatar", "live")
