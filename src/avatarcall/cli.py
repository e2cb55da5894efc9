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


def _turn_config(args: argparse.Namespace) -> int:
    from avatarcall.ice.coturn import render_config

    settings = Settings()
    secret = args.secret or (settings.turn_secret.get_secret_value() if settings.turn_secret else None)
    if not secret:
        raise SystemExit("give --secret or set AVATARCALL_TURN_SECRET (the same secret avatarcall uses)")
    sys.stdout.write(render_config(
        realm=args.realm, secret=secret, listening_ip=args.listening_ip,
        external_ip=args.external_ip, port=args.port, tls_port=args.tls_port,
        cert=args.cert, pkey=args.pkey))
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from avatarcall.diagnose import run

    return run(args.url, seconds=args.seconds)


def _bench(args: argparse.Namespace) -> int:
    if args.what == "calls":
        from avatarcall.bench.calls import run

        return run(runs=args.runs, chromium=args.chromium)
    if args.what == "recovery":
        from avatarcall.bench.recovery import run as run_recovery

        return run_recovery(runs=args.runs)
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
    turn = sub.add_parser("turn-config", help="print a hardened coturn configuration")
    turn.add_argument("--realm", required=True, help="e.g. turn.example.com")
    turn.add_argument("--secret", help="the TURN REST shared secret (default: AVATARCALL_TURN_SECRET)")
    turn.add_argument("--listening-ip", default="0.0.0.0")
    turn.add_argument("--external-ip", help="public address when coturn is behind NAT")
    turn.add_argument("--port", type=int, default=3478)
    turn.add_argument("--tls-port", type=int, help="e.g. 443 for TURN over TLS")
    turn.add_argument("--cert", help="TLS certificate (PEM) for --tls-port")
    turn.add_argument("--pkey", help="TLS private key (PEM) for --tls-port")
    turn.set_defaults(func=_turn_config)
    diagnose = sub.add_parser("diagnose", help="check a server from here: health, ICE, TURN, avatar")
    diagnose.add_argument("url", help="e.g. http://127.0.0.1:8080")
    diagnose.add_argument("--seconds", type=float, default=5.0, help="how long to watch the avatar")
    diagnose.set_defaults(func=_diagnose)
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    bench.add_argument("what", choices=["calls", "avatar", "recovery"])
    bench.add_argument("--max-sessions", type=int, default=12, help="avatar: ramp limit")
    bench.add_argument("--runs", type=int, default=20)
    bench.add_argument("--chromium", default="/usr/bin/chromium")
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    return int(args.func(args))
