"""Command line: avatarcall serve | agent | apikey | turn-config | diagnose | bench."""

from __future__ import annotations

import argparse
import getpass
import logging.config
import os
import sys
from pathlib import Path
from typing import Any

from avatarcall.config import Settings

DB_FILE = "avatarcall.sqlite3"
FIRST_ADMIN_FILE = "first-admin.txt"
WS_MAX_SIZE = 64 * 1024  # a bigger frame closes the socket with 1009 (docs/security.md)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from avatarcall.app import create_app
    from avatarcall.redact import uvicorn_log_config

    overrides: dict[str, Any] = {k: v for k, v in (
        ("host", args.host), ("port", args.port), ("avatar_workers", args.avatar_workers),
        ("tls_cert", args.tls_cert), ("tls_key", args.tls_key)) if v is not None}
    if args.avatar_in_process:
        overrides["avatar_mode"] = "in-process"
    if args.tls == "self-signed":
        overrides["tls_self_signed"] = True
    try:
        settings = Settings(**overrides)
    except ValueError as exc:
        raise SystemExit(f"avatarcall: {exc}") from None
    log_config = uvicorn_log_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(log_config)
    tls: dict[str, str] = {}
    note = ""
    if settings.tls_self_signed:
        from avatarcall.store.files import private_dir
        from avatarcall.tls import names_for, self_signed

        private_dir(settings.data_dir)
        cert, key = self_signed(settings.data_dir / "tls", names_for(settings.host))
        tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        note = f"  tls           : self-signed {cert} (browsers warn once; accept it)\n"
    elif settings.tls_cert is not None and settings.tls_key is not None:
        tls = {"ssl_certfile": str(settings.tls_cert), "ssl_keyfile": str(settings.tls_key)}
        note = f"  tls           : {settings.tls_cert}\n"
    url = settings.public_url
    sys.stdout.write(
        f"avatarcall is starting\n"
        f"  customer page : {url}/\n"
        f"  agent console : {url}/agent\n"
        f"  {_first_admin(settings)}\n"
        f"  data          : {settings.data_dir.resolve()}\n"
        f"{note}"
    )
    sys.stdout.flush()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level.lower(), log_config=log_config,
                ws_max_size=WS_MAX_SIZE, proxy_headers=True,
                forwarded_allow_ips=settings.forwarded_allow_ips, **tls)  # type: ignore[arg-type]
    return 0


def _first_admin(settings: Settings) -> str:
    """On the first start (no agent yet), the admin of AVATARCALL_DEMO_AGENT, or one named
    ``agent`` with a generated password, made once and never reset. A generated password is
    shown once on a terminal; when the output goes elsewhere (a log), it is written to a file
    only this user can read instead, and never to the log."""
    from avatarcall.store.agents import AgentStore
    from avatarcall.store.files import private_dir, write_private

    credentials = settings.demo_credentials
    private_dir(settings.data_dir)
    store = AgentStore(settings.data_dir / DB_FILE)
    if credentials is None or not store.create_first(*credentials):
        count = len(store.list())
        return (f"agents        : {count} (add one with: avatarcall agent add NAME --admin)"
                if count else "agents        : none yet: avatarcall agent add NAME --admin")
    name, password = credentials
    if settings.demo_agent:  # the operator's own password is not echoed
        return f"first admin   : {name} (the password in AVATARCALL_DEMO_AGENT)"
    change = f"change it with: avatarcall agent add {name} --admin"
    if sys.stdout.isatty():
        return f"first admin   : {name} / {password}   (shown only now; {change})"
    path = write_private(settings.data_dir / FIRST_ADMIN_FILE,
                         f"{name}\n{password}\n# {change}, then delete this file\n")
    return f"first admin   : {name}, its password in {path.resolve()} (mode 600; {change})"


def _store(settings: Settings, *, create: bool) -> Path:
    """The SQLite file of the data directory, said on stderr; a command that only reads it
    refuses to make an empty one somewhere by mistake."""
    path = settings.data_dir / DB_FILE
    sys.stderr.write(f"data: {settings.data_dir.resolve()}\n")
    if not create and not path.exists():
        raise SystemExit(f"avatarcall: no avatarcall data in {settings.data_dir.resolve()} "
                         "(set AVATARCALL_DATA_DIR to the server's data directory)")
    return path


def _read_password(args: argparse.Namespace) -> str:
    """From --password-file, else a prompt (twice) on a terminal, else the first line of stdin."""
    if args.password_file:
        lines = Path(args.password_file).read_text().splitlines()
        password = lines[0] if lines else ""
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise SystemExit("avatarcall: the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    from avatarcall.config import MIN_PASSWORD
    from avatarcall.store.agents import MAX_PASSWORD

    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise SystemExit(f"avatarcall: a password is {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    return password


def _agent(args: argparse.Namespace) -> int:
    from avatarcall.store.agents import AgentStore

    store = AgentStore(_store(Settings(), create=args.action == "add"))
    if args.action == "list":
        for agent in store.list():
            sys.stdout.write(f"{agent.name}\t{'admin' if agent.admin else 'agent'}\n")
        return 0
    if args.action in ("remove", "signout"):
        done = store.remove(args.name) if args.action == "remove" else store.sign_out(args.name)
        if not done:
            raise SystemExit(f"avatarcall: no agent named {args.name!r}")
        what = "removed" if args.action == "remove" else "signed out everywhere:"
        sys.stdout.write(f"{what} {args.name} (their open pages are closed within seconds)\n")
        return 0
    try:
        created = store.set(args.name, _read_password(args), admin=args.admin)
    except ValueError as exc:
        raise SystemExit(f"avatarcall: {exc}") from None
    role = "admin" if args.admin else "agent"
    sys.stdout.write(f"{'added' if created else 'updated'} {role} {args.name}\n")
    return 0


def _apikey(args: argparse.Namespace) -> int:
    from avatarcall.store.apikeys import ApiKeyStore

    store = ApiKeyStore(_store(Settings(), create=args.action == "add"))
    if args.action == "list":
        for entry in store.list():
            state = "revoked" if entry.revoked_at else "live"
            sys.stdout.write(f"{entry.name}\t{state}\n")
        return 0
    if args.action == "revoke":
        if not store.revoke(args.name):
            raise SystemExit(f"avatarcall: no live API key named {args.name!r}")
        sys.stdout.write(f"revoked {args.name}\n")
        return 0
    try:
        key = store.add(args.name)
    except ValueError as exc:
        raise SystemExit(f"avatarcall: {exc}") from None
    sys.stderr.write(f"API key {args.name!r} (shown only now; store it as a secret):\n")
    sys.stdout.write(f"{key}\n")
    return 0


def _worker(args: argparse.Namespace) -> int:
    """An avatar worker: it dials in to the server and renders the avatars it is given."""
    import asyncio

    from avatarcall.avatar.setup import recognizer, session_config, synthesizer
    from avatarcall.avatar.worker import Worker
    from avatarcall.ice.peers import PeerNetworks
    from avatarcall.redact import uvicorn_log_config

    settings = Settings()
    logging.config.dictConfig(uvicorn_log_config(settings.log_level, settings.log_format))
    if args.key_file:
        lines = Path(args.key_file).read_text().splitlines()
        key = lines[0].strip() if lines else ""
    else:
        key = settings.worker_key.get_secret_value() if settings.worker_key else ""
    if not key:
        raise SystemExit("avatarcall: give --key-file or set AVATARCALL_WORKER_KEY (make one on "
                         "the server with: avatarcall workerkey add NAME)")
    try:
        hears = recognizer(settings)
    except (ValueError, RuntimeError) as exc:  # a Vosk model folder that is none, say
        raise SystemExit(f"avatarcall worker: {exc}") from exc
    worker = Worker(args.server, key, synthesizer(settings), session_config(settings),
                    worker_id=args.id, peers=PeerNetworks(settings.avatar_peer_networks),
                    insecure=settings.worker_insecure or args.insecure,
                    min_capacity=settings.avatar_min_capacity, parent=settings.worker_parent,
                    recognizer=hears)
    return 0 if asyncio.run(worker.run()) else 1


def _workerkey(args: argparse.Namespace) -> int:
    from avatarcall.store.apikeys import WorkerKeyStore

    store = WorkerKeyStore(_store(Settings(), create=args.action == "add"))
    if args.action == "list":
        for entry in store.list():
            sys.stdout.write(f"{entry.name}\t{'revoked' if entry.revoked_at else 'live'}\n")
        return 0
    if args.action == "revoke":
        if not store.revoke(args.name):
            raise SystemExit(f"avatarcall: no live worker key named {args.name!r}")
        sys.stdout.write(f"revoked {args.name} (its workers are refused from their next "
                         "connection)\n")
        return 0
    try:
        key = store.add(args.name)
    except ValueError as exc:
        raise SystemExit(f"avatarcall: {exc}") from None
    sys.stderr.write(f"worker key {args.name!r} (shown only now; give it to the worker as "
                     "AVATARCALL_WORKER_KEY or in a --key-file):\n")
    sys.stdout.write(f"{key}\n")
    return 0


def _turn_config(args: argparse.Namespace) -> int:
    """Prints (or writes to --output) the whole configuration, or nothing at all: an error goes
    to stderr only, so ``| sudo tee /etc/turnserver.conf`` never writes half a file."""
    from avatarcall.ice.coturn import render_config

    settings = Settings()
    if args.secret_file:
        lines = Path(args.secret_file).read_text().splitlines()
        secret = lines[0].strip() if lines else ""
    else:
        secret = settings.turn_secret.get_secret_value() if settings.turn_secret else ""
    if not secret:
        raise SystemExit("avatarcall: give --secret-file or set AVATARCALL_TURN_SECRET (the "
                         "same secret avatarcall uses)")
    try:
        text = render_config(
            realm=args.realm, secret=secret, listening_ip=args.listening_ip,
            external_ip=args.external_ip, port=args.port, tls_port=args.tls_port,
            cert=args.cert, pkey=args.pkey)
    except ValueError as exc:
        raise SystemExit(f"avatarcall: {exc}") from None
    if args.output is None:
        sys.stdout.write(text)
        return 0
    from avatarcall.store.files import write_private

    write_private(Path(args.output), text)
    sys.stderr.write(f"wrote {args.output}\n")
    return 0


def _lb_config(args: argparse.Namespace) -> int:
    from avatarcall.lbconfig import render_haproxy

    try:
        text = render_haproxy(args.node, port=args.port, cert=args.cert)
    except ValueError as exc:
        raise SystemExit(f"avatarcall: {exc}") from None
    sys.stdout.write(text)
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from avatarcall.diagnose import run

    return run(args.url, seconds=args.seconds, insecure=args.insecure)


def _need_browser(what: str) -> None:
    """One line and a non-zero exit, not a traceback, when the bench extra or Chromium is missing."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise SystemExit(f"avatarcall: 'bench {what}' drives Chromium with Playwright: "
                         "pip install 'avatarcall[bench]' (and apt-get install chromium)") from None
    chromium = os.environ.get("AVATARCALL_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        raise SystemExit(f"avatarcall: 'bench {what}' needs Chromium at {chromium}: "
                         "apt-get install chromium, or give --chromium PATH")


def _bench(args: argparse.Namespace) -> int:
    if args.chromium:
        os.environ["AVATARCALL_CHROMIUM"] = args.chromium
    if args.what not in ("avatar", "scale", "conversation"):  # avatar: a browser if it can
        _need_browser(args.what)
    if args.what == "scale":
        from avatarcall.bench.scale import run as run_scale

        return run_scale(customers=args.customers, nodes=args.nodes, rate=args.rate,
                         burst=args.burst)
    if args.what == "calls":
        from avatarcall.bench.calls import run

        return run(runs=args.runs or 20)
    if args.what == "recovery":
        from avatarcall.bench.recovery import SCENARIOS
        from avatarcall.bench.recovery import run as run_recovery
        from avatarcall.testing.netlab import unavailable

        if (why := unavailable()) is not None:
            raise SystemExit(f"avatarcall: 'bench recovery': {why}")
        chosen = tuple(args.scenario) if args.scenario else SCENARIOS
        return run_recovery(runs=args.runs or 5, scenarios=chosen, browser=args.browser)
    if args.what == "avatar":
        from avatarcall.bench.avatar import run as run_avatar

        return run_avatar(max_sessions=args.max_sessions, lipsync_runs=args.runs or 3)
    if args.what == "lipsync":
        from avatarcall.bench.lipsync import run as run_lipsync

        return run_lipsync(runs=args.runs or 5)
    if args.what == "network":
        from avatarcall.bench.network import run as run_network
        from avatarcall.testing.netlab import unavailable

        if (why := unavailable()) is not None:
            raise SystemExit(f"avatarcall: 'bench network': {why}")

        return run_network(runs=args.runs or 1, seconds=args.seconds, browser=args.browser)
    if args.what == "conversation":
        from avatarcall.bench.conversation import run as run_conversation

        return run_conversation(runs=args.runs or 40)
    raise SystemExit(f"unknown benchmark {args.what}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="avatarcall", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run everything in one process")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--tls", choices=["self-signed"],
                       help="HTTPS with a certificate made in the data directory (LAN trials)")
    serve.add_argument("--tls-cert", type=Path, help="HTTPS: certificate chain (PEM)")
    serve.add_argument("--tls-key", type=Path, help="HTTPS: private key (PEM)")
    serve.add_argument("--avatar-workers", type=int, help="local avatar worker processes "
                       "(default: one per core; 0: only workers on other machines)")
    serve.add_argument("--avatar-in-process", action="store_true",
                       help="render avatars in the server's own process (no workers)")
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="render avatars for a server (on another machine)")
    worker.add_argument("--server", required=True, help="the server's URL, e.g. https://calls.example.com")
    worker.add_argument("--key-file", help="a file whose first line is the worker key "
                        "(default: AVATARCALL_WORKER_KEY)")
    worker.add_argument("--id", help="this worker's name (default: host-pid)")
    worker.add_argument("--insecure", action="store_true",
                        help="do not check the server's TLS certificate (a self-signed trial)")
    worker.set_defaults(func=_worker)
    workerkey = sub.add_parser("workerkey", help="keys avatar workers dial in with")
    workerkey_sub = workerkey.add_subparsers(dest="action", required=True)
    workerkey_sub.add_parser("add", help="make a key and print it (once)").add_argument("name")
    workerkey_sub.add_parser("revoke", help="revoke a key").add_argument("name")
    workerkey_sub.add_parser("list", help="names and whether they are live")
    workerkey.set_defaults(func=_workerkey)
    agent = sub.add_parser("agent", help="agents who may sign in")
    agent_sub = agent.add_subparsers(dest="action", required=True)
    agent_add = agent_sub.add_parser(
        "add", help="add an agent, or set their password and role (ends their sessions)")
    agent_add.add_argument("name")
    agent_add.add_argument("--admin", action="store_true", help="may see /admin")
    agent_add.add_argument("--password-file", help="read the password from this file's first line")
    agent_sub.add_parser("list", help="names and roles")
    agent_sub.add_parser("remove", help="remove an agent; their sessions end").add_argument("name")
    agent_sub.add_parser("signout", help="end every session of an agent now").add_argument("name")
    agent.set_defaults(func=_agent)
    apikey = sub.add_parser("apikey", help="API keys of integrators' backends")
    apikey_sub = apikey.add_subparsers(dest="action", required=True)
    apikey_sub.add_parser("add", help="make a key and print it (once)").add_argument("name")
    apikey_sub.add_parser("revoke", help="revoke a key").add_argument("name")
    apikey_sub.add_parser("list", help="names and whether they are live")
    apikey.set_defaults(func=_apikey)
    turn = sub.add_parser("turn-config", help="print a hardened coturn configuration")
    turn.add_argument("--realm", required=True, help="e.g. turn.example.com")
    turn.add_argument("--secret-file", help="a file whose first line is the TURN REST shared "
                      "secret (default: AVATARCALL_TURN_SECRET; never on the command line, "
                      "where every user sees it)")
    turn.add_argument("--output", help="write the file (mode 600) only if all went well, "
                      "instead of printing it")
    turn.add_argument("--listening-ip", default="0.0.0.0")
    turn.add_argument("--external-ip", help="public address when coturn is behind NAT")
    turn.add_argument("--port", type=int, default=3478)
    turn.add_argument("--tls-port", type=int, help="e.g. 443 for TURN over TLS")
    turn.add_argument("--cert", help="TLS certificate (PEM) for --tls-port")
    turn.add_argument("--pkey", help="TLS private key (PEM) for --tls-port")
    turn.set_defaults(func=_turn_config)
    lb = sub.add_parser("lb-config", help="print an HAProxy configuration for several nodes")
    lb.add_argument("--node", action="append", required=True, metavar="HOST:PORT",
                    help="a node (give one --node per node)")
    lb.add_argument("--port", type=int, default=80, help="where HAProxy listens")
    lb.add_argument("--cert", help="a PEM with certificate and key: HTTPS on --port")
    lb.set_defaults(func=_lb_config)
    diagnose = sub.add_parser("diagnose", help="check a server from here: health, ICE, TURN, avatar")
    diagnose.add_argument("url", help="e.g. http://127.0.0.1:8080")
    diagnose.add_argument("--seconds", type=float, default=5.0, help="how long to watch the avatar")
    diagnose.add_argument("--insecure", action="store_true",
                          help="do not check the server's TLS certificate (a self-signed trial)")
    diagnose.set_defaults(func=_diagnose)
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    bench.add_argument("what", choices=["calls", "avatar", "recovery", "lipsync", "scale",
                                        "conversation", "network"])
    bench.add_argument("--scenario", action="append", choices=["turn", "cut", "change"],
                       help="recovery: how the network breaks (repeatable; default all three)")
    bench.add_argument("--browser", choices=["chromium", "firefox"], default="chromium",
                       help="recovery, network: the customer's browser (Firefox: Debian's ESR)")
    bench.add_argument("--seconds", type=float, default=10.0,
                       help="network: how long each profile is watched per run")
    bench.add_argument("--customers", type=int, default=2000, help="scale: waiting customers")
    bench.add_argument("--nodes", type=int, default=2, help="scale: nodes")
    bench.add_argument("--rate", type=float, default=50.0,
                       help="scale: customers arriving per second (steady phase)")
    bench.add_argument("--burst", type=int, default=400,
                       help="scale: customers joining 50 at a time after the steady phase")
    bench.add_argument("--max-sessions", type=int, default=24, help="avatar: ramp limit")
    bench.add_argument("--runs", type=int, help="calls: 20, recovery: 5 (per scenario), lipsync: 5, avatar: 3 "
                       "(A/V runs), conversation: 40 (questions of each kind, per voice), network: 1")
    bench.add_argument("--chromium", help="the browser to drive (default: /usr/bin/chromium, or "
                       "AVATARCALL_CHROMIUM)")
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    return int(args.func(args))
