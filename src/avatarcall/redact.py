"""Keep credentials out of logs: a customer link's token (``?call=``, ``?token=``) and an agent's
resume token travel in URLs, and uvicorn logs URLs. This filter blanks their values in every
record that goes through the handlers it is put on."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote

SECRET_NAMES = frozenset({"token", "call", "resume", "key", "password"})
QUERY_PARAM = re.compile(r"([?&;])([^=&;\s\"']+)=([^&;\s\"']+)")
BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def _param(match: re.Match[str]) -> str:
    # A name may come percent-encoded (``%74oken``), even twice: it is decoded before it is
    # compared, as the server itself would read it.
    name = unquote(unquote(match.group(2))).lower()
    if name in SECRET_NAMES:
        return f"{match.group(1)}{match.group(2)}=[redacted]"
    return match.group(0)


def redact(text: str) -> str:
    return BEARER.sub(r"\1[redacted]", QUERY_PARAM.sub(_param, text))


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def uvicorn_log_config(level: str, fmt: str = "plain") -> dict[str, Any]:
    """uvicorn's own logging setup, with :class:`RedactSecrets` on each handler, and the root
    logger (avatarcall's modules) through the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "avatarcall.redact.RedactSecrets"}}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    config["formatters"]["plain"] = {
        "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["formatters"]["json"] = {"()": "avatarcall.logs.JsonFormatter"}
    if fmt == "json":
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
    config["handlers"]["plain"] = {"class": "logging.StreamHandler", "formatter": fmt,
                                   "stream": "ext://sys.stderr", "filters": ["redact"]}
    config["root"] = {"handlers": ["plain"], "level": level.upper()}
    # aioice logs every candidate pair and check at INFO: a flood with no news for an operator.
    config.setdefault("loggers", {})["aioice"] = {"level": "WARNING"}
    return config
