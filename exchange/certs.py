"""The exchange's TLS certificate when the operator gives none: a self-signed pair.

Made with `cryptography` (pyca): an EC P-256 key and an X.509 certificate whose subject
alternative names hold the PBX domain and listen address (phones check the name they
dialled, RFC 5922 §7.2). Kept in the run directory and reused until a name changes or it
is 30 days from expiry; the key file is 0600.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825  # the longest validity Apple's TLS rules accept for a server certificate
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class CertificatePair:
    """Paths of a PEM certificate and its PEM private key."""

    cert: Path
    key: Path


def self_signed(folder: Path, names: list[str]) -> CertificatePair:
    """The self-signed pair in `folder` for `names` (host names or IP addresses), made
    now unless one for the same names is there and not near its expiry."""
    names = list(dict.fromkeys(names))
    folder.mkdir(parents=True, exist_ok=True)
    pair = CertificatePair(folder / "exchange-cert.pem", folder / "exchange-key.pem")
    if _usable(pair, names):
        return pair
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        # A server certificate (Apple's TLS rules ask for serverAuth), trusted by import.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_file(pair.key, key_pem)
    pair.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return pair


def private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path`, readable by its owner only (0600) from its creation on."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def certificate_names(path: Path) -> list[str]:
    """The subject alternative names of a PEM certificate, as text."""
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in names]


def _usable(pair: CertificatePair, names: list[str]) -> bool:
    if not (pair.cert.exists() and pair.key.exists()):
        return False
    try:
        certificate = x509.load_pem_x509_certificate(pair.cert.read_bytes())
        found = certificate_names(pair.cert)
    except (ValueError, x509.ExtensionNotFound):
        return False
    fresh = certificate.not_valid_after_utc - RENEW_BEFORE > datetime.now(UTC)
    return fresh and sorted(found) == sorted(names)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
