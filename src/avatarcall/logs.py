"""JSON log lines (``AVATARCALL_LOG_FORMAT=json``): one object per line, for log collectors.

Every ``key=%s`` of a message's template (our lines carry ``call=%s role=%s link=%s``) also
becomes a field of its own, so a call's lines can be found by ``call`` alone. Fields come from
the template and its arguments one by one, never from the formatted text: an argument that a
person typed (a name) is always one value, whatever ``key=value`` it contains.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# A %-format specifier, optionally right after "key=".
_SPEC = re.compile(r"(?:\b([a-z_]+)=)?%(?:\(\w+\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
                   r"([diouxXeEfFgGcrsa%])")
_LITERAL = re.compile(r"\b([a-z_]+)=([^\s,%]+)")


def fields(template: str, args: object) -> dict[str, str]:
    """The ``key=value`` fields of a log call: literal ones of the template, and each ``key=%s``
    with its own argument."""
    found = dict(_LITERAL.findall(_SPEC.sub(" ", template)))
    values = args if isinstance(args, tuple) else ()
    index = 0
    for match in _SPEC.finditer(template):
        if match.group(2) == "%":
            continue
        if index >= len(values):
            break
        key, value = match.group(1), values[index]
        index += 1
        if key:
            try:
                found.setdefault(key, match.group(0)[len(key) + 1:] % (value,))
            except (TypeError, ValueError):
                found.setdefault(key, str(value))
    return found


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        template = record.msg if isinstance(record.msg, str) else str(record.msg)
        for key, value in fields(template, record.args).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
