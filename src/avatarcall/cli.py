"""Command line: ``avatarcall serve | bench``."""

from __future__ import annotations

import argparse
import logging
import sys

from avatarcall.config import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from avatarcall.app import create_app

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    name, password = settings.demo_credentials
    url = settings.public_url
    sys.stdout.write(
        f"avatarcall is starting\n"
        f"  customer page : {url}/\n"
        f"  agent console : {url}/agent\n"
        f"  demo agent    : {name} / {password}\n"
        f"  data          : {settings.data_dir.resolve()}\n"
    )
    sys.stdout.flush()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level.lower(), ws_max_size=64 * 1024)
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.what == "calls":
        from avatarcall.bench.calls import run

        return run(runs=args.runs, chromium=args.chromium)
    if args.what == "avatar":
        from avatarcall.bench.avatar import run as run_avatar

        return run_avatar(max_sessions=args.max_sessions)
    raise SystemExit(f"unknown benchmark {args.what}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="avatarcall", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run everything in one process")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=_serve)
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    bench.add_argument("what", choices=["calls", "avatar"])
    bench.add_argument("--max-sessions", type=int, default=12, help="avatar: ramp limit")
    bench.add_argument("--runs", type=int, default=20)
    bench.add_argument("--chromium", default="/usr/bin/chromium")
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    return int(args.func(args))
