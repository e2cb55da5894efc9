"""A self-signed certificate for trials on a LAN (``avatarcall serve --tls self-signed``).

Browsers give a page camera and microphone only in a secure context: ``localhost`` or HTTPS. To
try a call between two machines, serve HTTPS with this certificate and accept the browser's
warning once. The key and certificate live in the data directory (key mode 600) and are made
again when missing, close to expiry, or not naming the host asked for.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from avatarcall.store.files import FILE_MODE, private_dir, private_file

CERT_FILE = "self-signed.crt"
KEY_FILE = "self-signed.key"
VALID_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=7)
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


def names_for(host: str) -> list[str]:
    """The names a certificate for ``--host host`` carries: localhost, the loopback addresses,
    the host itself, and this machine's name when listening on every address."""
    names = ["localhost", "127.0.0.1", "::1"]
    if host in WILDCARD_HOSTS:
        names.append(socket.gethostname())
    else:
        names.append(host)
    return list(dict.fromkeys(n.strip("[]").lower() for n in names if n))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _covers(cert: x509.Certificate, names: Iterable[str], now: dt.datetime) -> bool:
    if cert.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return all(_general_name(n) in san for n in names)


def self_signed(directory: Path, names: Iterable[str],
                now: dt.datetime | None = None) -> tuple[Path, Path]:
    """(certificate, key) in ``directory`` covering ``names``, made if needed."""
    names = list(names)
    now = now or dt.datetime.now(dt.UTC)
    private_dir(directory)
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    if cert_path.exists() and key_path.exists():
        try:
            existing = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except ValueError:
            existing = None
        if existing is not None and _covers(existing, names, now):
            os.chmod(key_path, FILE_MODE)
            return cert_path, key_path

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"avatarcall {names[-1]}"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "avatarcall (self-signed)")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                     content_commitment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    private_file(key_path)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
