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


def test_text_a_person_typed_stays_one_value() -> None:
    """The audit's attack: a login name carrying ``call=... role=admin`` adds no field."""
    record = logging.LogRecord("avatarcall.web.api", logging.INFO, __file__, 1,
                               "sign-in failed name=%r address=%s",
                               ("x call=forged role=admin", "10.0.0.1"), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["name"] == "'x call=forged role=admin'" and line["address"] == "10.0.0.1"
    assert "call" not in line and "role" not in line


def test_literal_fields_of_the_template_are_kept() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "link=avatar state=%s 100%% done",
                               ("live",), None)
    line = json.loads(JsonFormatter().format(record))
    assert (line["link"], line["state"]) == ("avatar", "live")
