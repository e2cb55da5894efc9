"""Settings: the only reader of the environment (``AVATARCALL_*``) and of the optional TOML file."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Where the server's avatar links may send packets (ice/peers.py): public and private addresses.
DEFAULT_PEER_NETWORKS = ("global", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                         "100.64.0.0/10", "fc00::/7")
MIN_PASSWORD = 8  # every password an agent may have (store/agents.py checks the same)


def default_data_dir() -> Path:
    """Where state lives unless AVATARCALL_DATA_DIR says otherwise: a fixed place per user, never
    the working directory (a command run elsewhere would see another, empty store)."""
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "avatarcall"


def default_cache_dir() -> Path:
    """What can be made again (the overlay loops): one place per user, shared by every server."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "avatarcall"


class IceServer(BaseModel):
    """One entry of an RTCConfiguration ``iceServers`` list, as the browser expects it."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class Settings(BaseSettings):
    """Everything avatarcall reads from outside, read once at start and frozen."""

    model_config = SettingsConfigDict(env_prefix="AVATARCALL_", frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="proxies whose X-Forwarded-For gives the client's "
        "address (comma-separated, '*' for any): per-address limits count real clients")
    data_dir: Path = Field(
        default_factory=lambda: default_data_dir(),
        description="SQLite file, signing key, TLS files (default: $XDG_DATA_HOME/avatarcall, "
        "else ~/.local/share/avatarcall: the same wherever a command is run from)")
    cache_dir: Path = Field(
        default_factory=lambda: default_cache_dir(),
        description="files made from the settings and kept to save the work (the overlay mode's "
        "loops; default: $XDG_CACHE_HOME/avatarcall, else ~/.cache/avatarcall)")
    demo_agent: str | None = Field(
        default=None, description="name:password of the admin made on the first start, when "
        "there is no agent yet (a password is generated and shown once when unset); 'off': none")
    language: Literal["auto", "fr", "en"] = Field(
        default="auto", description="avatar language; auto follows the customer's browser"
    )
    ice_servers_call: list[IceServer] = Field(default_factory=list)
    ice_servers_avatar: list[IceServer] = Field(default_factory=list)
    stun_urls: list[str] = Field(default_factory=list, description="e.g. stun:turn.example.com:3478")
    turn_urls: list[str] = Field(default_factory=list, description="TURN pool of the call links")
    turn_secret: SecretStr | None = Field(default=None, description="coturn static-auth-secret")
    turn_urls_avatar: list[str] = Field(
        default_factory=list, description="TURN pool of the avatar links (default: the call pool)")
    turn_secret_avatar: SecretStr | None = None
    turn_ttl: int = Field(default=600, ge=60, le=86_400, description="TURN credential lifetime, s")
    ice_relay_only: bool = Field(
        default=False, description="pages use iceTransportPolicy 'relay' (TURN only) for every link"
    )
    avatar_peer_networks: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PEER_NETWORKS),
        description="where the server's avatar links may send packets: CIDRs, or 'global' for "
        "every public address (default: public and private; never loopback, link-local, "
        "multicast), e.g. [\"global\", \"10.0.0.0/8\"]")
    avatar_character: str = Field(default="ava", description="ava, leo, or a folder name in avatar_image_dir")
    avatar_palette: dict[str, str] = Field(
        default_factory=dict, description='brand colours, e.g. {"background_top": "#fdf6ec"}')
    avatar_image_dir: Path | None = Field(default=None, description="folder of PNG characters")
    piper_model: Path | None = Field(
        default=None, description="a Piper voice model (.onnx): speech by Piper instead of espeak-ng")
    avatar_fps: int = Field(default=25, ge=5, le=60)
    avatar_size: int = Field(default=512, ge=128, le=1280)
    avatar_bitrate: int = Field(default=800_000, ge=100_000, le=5_000_000)
    # A keyframe goes out when a viewer joins, changes layer or reports a lost picture; the
    # periodic one is a safety net (each costs a burst a poor link must queue).
    avatar_keyframe_interval: float = Field(default=10.0, gt=0)
    avatar_mode: Literal["workers", "in-process"] = Field(
        default="workers", description="workers: avatars render in worker processes (local ones "
        "started by serve, remote ones dialling in); in-process: in the server's own process")
    avatar_workers: int | None = Field(
        default=None, ge=0, description="local avatar worker processes (default: one per core; "
        "0: remote workers only)")
    avatar_min_capacity: int = Field(
        default=1, ge=1, description="avatar sessions each worker admits whatever it measures "
        "(past its measured capacity, frames may come late instead of the call waiting)")
    worker_key: SecretStr | None = Field(
        default=None, description="avatarcall worker: the key it dials in with "
        "(avatarcall workerkey add NAME)")
    worker_parent: int | None = Field(
        default=None, description="(set by serve for its own workers) the server's pid: the "
        "worker stops when that process is gone")
    worker_insecure: bool = Field(
        default=False, description="avatarcall worker: do not check the server's TLS certificate")
    max_avatar_sessions: int = Field(
        default=0, ge=0, description="avatar sessions rendered at once (0: no limit); beyond, a "
        "call's pages show the local animation until a session is free (see bench avatar)")
    waiting_grace_seconds: float = Field(
        default=20.0, description="how long a waiting customer whose page vanished keeps their place"
    )
    after_call_seconds: float = Field(
        default=120.0, description="how long the avatar stays after the call has ended"
    )
    faq_dir: Path | None = Field(
        default=None, description="the assistant's FAQ: a folder of <language>.yaml files "
        "(entries: id, questions, answer); unset: the shipped example")
    chat_url: str | None = Field(
        default=None, description="an OpenAI-compatible endpoint (e.g. http://127.0.0.1:8000/v1): "
        "the assistant's words from the FAQ's closest entries; unset: the FAQ's answers as written")
    chat_model: str = Field(default="gpt-4o-mini", description="the chat endpoint's model")
    chat_api_key: SecretStr | None = Field(default=None, description="the chat endpoint's key")
    chat_budget_seconds: float = Field(
        default=2.0, gt=0, description="longest wait for the chat model's first words before "
        "the FAQ's answer is given instead")
    speech_recognizer: Literal["pocketsphinx", "openai", "off"] = Field(
        default="pocketsphinx", description="what hears a customer talking to the assistant: "
        "pocketsphinx (English, shipped with its model), openai (an OpenAI-compatible "
        "transcription endpoint), or off (typing only)")
    transcription_url: str | None = Field(
        default=None, description="speech_recognizer=openai: the endpoint's base URL (…/v1)")
    transcription_model: str = Field(default="whisper-1", description="its model")
    transcription_api_key: SecretStr | None = Field(default=None, description="its key")
    transcription_languages: list[str] = Field(
        default=["en", "fr"], description="the languages it hears (JSON list)")
    vosk_models: dict[str, Path] = Field(
        default={}, description="languages heard by Vosk, each from a model folder you supply "
        '(JSON: {"fr": "/srv/vosk-model-small-fr-0.22"}; needs avatarcall[vosk]); the other '
        "languages stay with speech_recognizer")
    conversation_retention_days: float = Field(
        default=30.0, ge=0, description="days what customers said to the assistant is kept "
        "with the call (0: kept for good)")
    fault_injection: bool = Field(
        default=False, description="enable /api/debug fault injection (tests and drills only)"
    )
    log_level: str = "INFO"
    log_format: Literal["plain", "json"] = Field(default="plain", description="plain or JSON lines")
    # --- several nodes (README: deployment) ---
    redis_url: SecretStr | None = Field(
        default=None, description="redis://host:6379/0: calls, queue, tabs and signaling shared "
        "by every node; unset: all in this process")
    database_url: SecretStr | None = Field(
        default=None, description="postgresql://user:password@host/db: call records and "
        "timelines; unset: SQLite in the data directory")
    node_id: str | None = Field(
        default=None, description="this node's name among several (default: host-pid)")
    # --- security (docs/security.md) ---
    tls_cert: Path | None = Field(default=None, description="TLS certificate chain (PEM)")
    tls_key: Path | None = Field(default=None, description="TLS private key (PEM)")
    tls_self_signed: bool = Field(
        default=False, description="serve HTTPS with a self-signed certificate made in the data dir")
    public_base_url: str | None = Field(
        default=None, description="how customers reach this server, for links the API mints "
        "(default: the URL the API request came in on), e.g. https://calls.example.com")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="names this server answers to in the Host header, "
        "besides IP addresses (default: localhost, the listen host, this machine's name and "
        "the public_base_url's host); any other name is refused (DNS rebinding)")
    allowed_origins: list[str] = Field(
        default_factory=list, description="page origins allowed to open the signaling WebSocket "
        "besides the server's own, e.g. [\"https://shop.example.com\"]; \"*\" allows any")
    frame_ancestors: str = Field(
        default="'self'", description="CSP frame-ancestors: who may embed the pages in a frame")
    ws_idle_timeout: float = Field(
        default=60.0, ge=0.5, description="a signaling socket silent this long (s) is closed")
    ws_messages_per_second: float = Field(default=50.0, gt=0, description="per signaling socket")
    ws_message_burst: int = Field(default=200, ge=1, description="per signaling socket")
    login_attempts: int = Field(
        default=5, ge=1, description="failed sign-ins per account from one address in "
        "login_window; then that address waits (docs/security.md)")
    login_address_attempts: int = Field(
        default=50, ge=1, description="failed sign-ins from one address over all accounts in "
        "login_window (high: a team behind one NAT must never meet it)")
    login_alarm: int = Field(
        default=20, ge=1, description="failed sign-ins of one account from anywhere in "
        "login_window past which each address gets a single try at it")
    login_window: float = Field(default=300.0, gt=0, description="seconds")
    calls_per_address: int = Field(
        default=20, ge=1, description="calls one client address may start in calls_window "
        "(the customer page, anonymous; each call starts an avatar)")
    calls_window: float = Field(default=60.0, gt=0, description="seconds")
    diagnostics_per_address: int = Field(
        default=10, ge=1, description="diagnostics requests (TURN credentials, test avatars) one "
        "client address may make per minute")
    max_waiting_calls: int = Field(
        default=200, ge=1, description="customers waiting at once; beyond, new calls are refused")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments win, then ``AVATARCALL_*`` variables, then the TOML file in ``AVATARCALL_CONFIG``."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("AVATARCALL_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @field_validator("demo_agent")
    @classmethod
    def _check_demo_agent(cls, value: str | None) -> str | None:
        if not value:
            return None  # unset (an empty variable too): a generated password
        if value == "off":
            return value
        if ":" not in value or not value.split(":", 1)[0]:
            raise ValueError("AVATARCALL_DEMO_AGENT must look like name:password, or be 'off'")
        if len(value.split(":", 1)[1]) < MIN_PASSWORD:
            raise ValueError(f"the password in AVATARCALL_DEMO_AGENT needs at least {MIN_PASSWORD} "
                             "characters")
        return value

    @field_validator("avatar_peer_networks")
    @classmethod
    def _check_peer_networks(cls, value: list[str]) -> list[str]:
        for spec in value:
            if spec != "global":
                ipaddress.ip_network(spec, strict=False)  # raises ValueError with the reason
        return value

    @field_validator("frame_ancestors")
    @classmethod
    def _check_frame_ancestors(cls, value: str) -> str:
        if not value.strip() or any(c in value for c in ";,\r\n"):
            raise ValueError("frame_ancestors is a space-separated list of CSP sources")
        return value.strip()

    @model_validator(mode="after")
    def _check_tls(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        if self.tls_self_signed and self.tls_cert is not None:
            raise ValueError("tls_self_signed and tls_cert/tls_key exclude each other")
        if self.speech_recognizer == "openai" and not self.transcription_url:
            raise ValueError("speech_recognizer=openai needs transcription_url "
                             "(AVATARCALL_TRANSCRIPTION_URL)")
        for language, folder in self.vosk_models.items():
            if not folder.is_dir():
                raise ValueError(f"vosk_models: the {language!r} model folder {folder} "
                                 "does not exist")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_self_signed or self.tls_cert is not None

    @cached_property
    def demo_credentials(self) -> tuple[str, str] | None:
        """The first admin's (name, password), made when no agent exists yet; the password is
        generated when none was set. None: turned off."""
        if self.demo_agent == "off":
            return None
        if self.demo_agent:
            name, password = self.demo_agent.split(":", 1)
            return name, password
        return "agent", secrets.token_urlsafe(12)

    @property
    def host_names(self) -> list[str]:
        """The names the Host header may carry (IP addresses are always accepted)."""
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        names = ["localhost", socket.gethostname()]
        if self.host not in ("0.0.0.0", "::", ""):
            names.append(self.host)
        if self.public_base_url:
            names.append(urlsplit(self.public_base_url).hostname or "")
        return [n for n in names if n]

    @property
    def local_url(self) -> str:
        """Where this server is reached from this machine (its own avatar workers dial it)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def local_avatar_workers(self) -> int:
        if self.avatar_mode == "in-process":
            return 0
        return os.cpu_count() or 1 if self.avatar_workers is None else self.avatar_workers

    @property
    def public_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"
