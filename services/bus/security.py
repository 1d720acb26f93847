"""How every Kafka client authenticates: TLS and SASL from the settings.

One place turns ``Settings`` into what aiokafka takes (the producer, every
consumer, the admin client) and into faust's ``broker_credentials``, so the
platform's clients never disagree about how to reach a secured cluster.
Building the kwargs opens no connection; the TLS context reads the PEM files.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from aiokafka.helpers import create_ssl_context

from services.errors import ConfigurationError
from services.settings import SASL_PROTOCOLS, SSL_PROTOCOLS, Settings

if TYPE_CHECKING:
    from faust.auth import Credentials

__all__ = ["client_security", "faust_credentials", "ssl_context"]


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context of every client: the CA to trust (the system's when unset), and
    the client certificate and key for mutual TLS."""
    files = {
        "NLS_KAFKA_SSL_CAFILE": settings.kafka_ssl_cafile,
        "NLS_KAFKA_SSL_CERTFILE": settings.kafka_ssl_certfile,
        "NLS_KAFKA_SSL_KEYFILE": settings.kafka_ssl_keyfile,
    }
    for variable, path in files.items():
        if path is not None and not path.is_file():
            raise ConfigurationError(f"{variable}={path}: no such file")
    try:
        context: ssl.SSLContext = create_ssl_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
            certfile=str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
            keyfile=str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            password=(
                settings.kafka_ssl_key_password.get_secret_value()
                if settings.kafka_ssl_key_password
                else None
            ),
        )
    except (OSError, ssl.SSLError) as exc:
        named = ", ".join(f"{k}={v}" for k, v in files.items() if v is not None)
        raise ConfigurationError(f"the Kafka TLS files cannot be loaded ({named}): {exc}") from None
    context.check_hostname = settings.kafka_ssl_check_hostname
    return context


def client_security(settings: Settings) -> dict[str, Any]:
    """The aiokafka keyword arguments for the configured security protocol.

    aiokafka takes SCRAM credentials in the same ``sasl_plain_*`` arguments as PLAIN.
    """
    protocol = settings.kafka_security_protocol
    out: dict[str, Any] = {"security_protocol": protocol}
    if protocol in SSL_PROTOCOLS:
        out["ssl_context"] = ssl_context(settings)
    if protocol in SASL_PROTOCOLS:
        password = settings.kafka_sasl_password
        out["sasl_mechanism"] = settings.kafka_sasl_mechanism
        out["sasl_plain_username"] = settings.kafka_sasl_username
        out["sasl_plain_password"] = password.get_secret_value() if password else None
    return out


def faust_credentials(settings: Settings) -> Credentials | None:
    """faust's ``broker_credentials`` for the same protocol (None: plaintext).

    faust hands these to its own aiokafka consumer, producer and admin client
    (``credentials_to_aiokafka_auth``); SASL over TLS is SASL credentials with a
    TLS context.
    """
    # faust costs 0.3 s to import: only faust workers pay for it.
    from faust.auth import SASLCredentials, SSLCredentials

    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings) if protocol in SSL_PROTOCOLS else None
    if protocol == "SSL":
        return SSLCredentials(context)
    password = settings.kafka_sasl_password
    return SASLCredentials(
        username=settings.kafka_sasl_username,
        password=password.get_secret_value() if password else None,
        ssl_context=context,
        mechanism=settings.kafka_sasl_mechanism,
    )
