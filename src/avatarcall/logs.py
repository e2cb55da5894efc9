"""JSON log lines (``AVATARCALL_LOG_FORMAT=json``): one object per line, for log collectors.

Every ``key=value`` pair of a message (our lines carry ``call=... role=... link=...``) also
becomes a field of its own, so a call's lines can be found by ``call`` alone.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_PAIR = re.compile(r"\b([a-z_]+)=([^\s,]+)")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in _PAIR.findall(message):
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
