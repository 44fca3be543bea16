"""The TLS certificate the plugin serves, which Terraform trusts for that one process.

Terraform (go-plugin's AutoMTLS) takes the certificate from the handshake line and accepts only
it. Any self-signed certificate for ``localhost`` does: an EC P-256 key, valid for a day.

Making one costs more than the rest of a start (``cryptography``'s x509 modules are most of the
imports), and Terraform starts the provider about three times per command, so the certificate
and its key are kept for a few hours in a directory only this user may read: ``weir-provider``
under ``$XDG_RUNTIME_DIR`` (a per-user tmpfs), else ``weir-provider-<uid>`` in the temporary
directory. A directory that is a symlink, belongs to someone else or is open to others is never
used (a fresh certificate is made and not kept); so is a file that is not a regular file of this
user's with mode 0600. The same folder keeps the digests of sources the server found valid
(:mod:`controlplane.provider.validated`).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import os
import stat
import tempfile
import time

KEPT_FOR = 6 * 3600
"""Seconds a kept certificate is reused; it is valid for a day from when it was made."""
_FILE = "plugin-tls.pem"
_KEY_MARK = b"-----BEGIN PRIVATE KEY-----"


def certificate() -> tuple[bytes, bytes]:
    """The certificate and its key, both PEM: the kept ones while fresh, else new ones."""
    kept = read_kept(_FILE)
    if kept is not None and 0 <= time.time() - kept[1] < KEPT_FOR:
        found = _certificate_and_key(kept[0])
        if found is not None:
            return found
    made = new_certificate()
    keep(_FILE, made[0] + made[1])
    return made


def der(pem: bytes) -> bytes:
    """The DER bytes of a PEM certificate, as the handshake line carries them (base64)."""
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    return base64.b64decode(body)


def new_certificate() -> tuple[bytes, bytes]:
    """A fresh self-signed EC P-256 certificate for ``localhost`` and its key, both PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    made = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pem = made.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, key_pem


def kept_folder() -> str:
    """Where the certificate is kept (whether or not it may be used)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "weir-provider")
    return os.path.join(tempfile.gettempdir(), f"weir-provider-{os.getuid()}")


def _private_folder() -> str | None:
    """The kept folder, made if missing; None when it is not a directory of this user's that
    only this user may open."""
    folder = kept_folder()
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        found = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode) or not _only_mine(found):
        return None
    return folder


def _only_mine(found: os.stat_result) -> bool:
    return found.st_uid == os.getuid() and found.st_mode & 0o077 == 0


def read_kept(name: str) -> tuple[bytes, float] | None:
    """The bytes of the file ``name`` of the private folder and when it was written; None when
    there is no private folder or no such file, or when it is not a regular file of this
    user's that only this user may open."""
    folder = _private_folder()
    if folder is None:
        return None
    try:
        fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as kept:
        found = os.fstat(kept.fileno())
        if not stat.S_ISREG(found.st_mode) or not _only_mine(found):
            return None
        return kept.read(), found.st_mtime


def keep(name: str, data: bytes) -> None:
    """Write the file ``name`` of the private folder at once (a concurrent reader sees the old
    file or the new, mode 0600); nothing is kept without a private folder."""
    folder = _private_folder()
    if folder is None:
        return
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{name}-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, os.path.join(folder, name))
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)


def _certificate_and_key(text: bytes) -> tuple[bytes, bytes] | None:
    pem, mark, key = text.partition(_KEY_MARK)
    if not mark or b"-----BEGIN CERTIFICATE-----" not in pem:
        return None
    return pem, mark + key
