"""Every security setting reaches every Kafka client's configuration, built without connecting.

The clients: the aiokafka producer (``producer_config``), every batched consumer
(``consumer_config``), the admin client (``admin_config``), and faust (its
``broker_credentials``, as faust's own aiokafka driver turns them into kwargs).
TLS files are real PEM files made here, and a TLS handshake between the client's
context and a broker-side context (in memory, no socket) proves the CA, the
client certificate and its key were loaded.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from services.bus.admin import admin_config
from services.bus.consumer import TANSU_TIMEOUTS_MS, consumer_config, consumer_timeouts
from services.bus.producer import producer_config
from services.bus.security import client_security, faust_credentials, ssl_context
from services.errors import ConfigurationError
from services.runtime.faust_app import broker_options, build_app
from services.settings import Settings

pytestmark = pytest.mark.unit

PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
BROKER_HOST = "broker.nls.test"


# --- a small PKI, written as PEM files -------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_key_encrypted: Path
    key_password: str


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, Any], *, ca: bool = False
) -> x509.Certificate:
    issuer_name, issuer_key = issuer
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write_key(path: Path, key: Any, password: str | None = None) -> Path:
    encryption: Any = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("nls test CA", ca_key, ("nls test CA", ca_key), ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    password = "s3cret key"
    return Pki(
        ca=_write_cert(d / "ca.pem", ca),
        server_cert=_write_cert(
            d / "server.pem", _issue(BROKER_HOST, server_key, ("nls test CA", ca_key))
        ),
        server_key=_write_key(d / "server.key", server_key),
        client_cert=_write_cert(
            d / "client.pem", _issue("nls-worker", client_key, ("nls test CA", ca_key))
        ),
        client_key=_write_key(d / "client.key", client_key),
        client_key_encrypted=_write_key(d / "client-enc.key", client_key, password),
        key_password=password,
    )


def secured(protocol: str, mechanism: str, pki: Pki, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": f"{BROKER_HOST}:9093",
        "kafka_security_protocol": protocol,
        "kafka_sasl_mechanism": mechanism,
    }
    if "SASL" in protocol:
        values |= {"kafka_sasl_username": "nls-agent", "kafka_sasl_password": SecretStr("pw-1")}
    if "SSL" in protocol:
        values |= {
            "kafka_ssl_cafile": pki.ca,
            "kafka_ssl_certfile": pki.client_cert,
            "kafka_ssl_keyfile": pki.client_key,
        }
    return Settings(**(values | more))


def handshake(client: ssl.SSLContext, pki: Pki, *, require_client_cert: bool = True) -> None:
    """A full TLS handshake through memory buffers: it fails unless the client trusts the
    broker's certificate (the CA file) and, for mutual TLS, presents its own."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki.server_cert, pki.server_key)
    server.load_verify_locations(pki.ca)
    server.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_NONE
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=BROKER_HOST)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for name, end in (("c", c), ("s", s)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            break
    assert all(done.values()), "the TLS handshake did not complete"
    if require_client_cert:
        peer = s.getpeercert()
        assert peer is not None
        subject: Any = peer["subject"]
        assert dict(x[0] for x in subject)["commonName"] == "nls-worker"


# --- what each client gets ------------------------------------------------------------


def all_client_configs(settings: Settings) -> dict[str, dict[str, Any]]:
    app = build_app(settings, "security-test")
    faust_kwargs = dict(
        credentials_to_aiokafka_auth(app.conf.broker_credentials, app.conf.ssl_context)
    )
    return {
        "producer": producer_config(settings),
        "consumer": consumer_config(settings, "g"),
        "admin": admin_config(settings),
        "faust": faust_kwargs,
    }


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_every_client_gets_the_protocol_mechanism_credentials_and_tls(
    protocol: str, mechanism: str, pki: Pki
) -> None:
    settings = secured(protocol, mechanism, pki)
    for client, config in all_client_configs(settings).items():
        assert config["security_protocol"] == protocol, client
        if "SASL" in protocol:
            assert config["sasl_mechanism"] == mechanism, client
            assert config["sasl_plain_username"] == "nls-agent", client
            assert config["sasl_plain_password"] == "pw-1", client
        else:
            assert "sasl_mechanism" not in config, client
            assert "sasl_plain_password" not in config, client
        context = config.get("ssl_context")
        if "SSL" in protocol:
            assert isinstance(context, ssl.SSLContext), client
            assert context.verify_mode == ssl.CERT_REQUIRED, client
            assert context.check_hostname, client
            handshake(context, pki)
        else:
            assert context is None, client


async def test_aiokafka_accepts_each_clients_configuration(pki: Pki) -> None:
    """The constructors validate the combination (e.g. SSL without a context fails)."""
    for protocol in PROTOCOLS:
        settings = secured(protocol, "SCRAM-SHA-512", pki)
        producer = AIOKafkaProducer(**producer_config(settings))
        consumer = AIOKafkaConsumer(**consumer_config(settings, "g"))
        admin = AIOKafkaAdminClient(**admin_config(settings))
        try:
            for client in (producer.client, consumer._client, admin._client):
                assert client._security_protocol == protocol
                if "SASL" in protocol:
                    assert client._sasl_mechanism == "SCRAM-SHA-512"
                    assert client._sasl_plain_username == "nls-agent"
        finally:
            await producer.stop()
            await consumer.stop()
            await admin.close()


def test_system_trust_store_when_no_ca_file_is_given(pki: Pki) -> None:
    settings = Settings(
        kafka_bootstrap_servers="b:9093",
        kafka_security_protocol="SSL",
    )
    context = client_security(settings)["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    # Our private CA is not in the system's store: the broker's certificate is refused.
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        handshake(context, pki, require_client_cert=False)


def test_an_encrypted_client_key_is_opened_with_its_password(pki: Pki) -> None:
    settings = secured(
        "SASL_SSL",
        "SCRAM-SHA-256",
        pki,
        kafka_ssl_keyfile=pki.client_key_encrypted,
        kafka_ssl_key_password=SecretStr(pki.key_password),
    )
    handshake(ssl_context(settings), pki)
    wrong = settings.model_copy(update={"kafka_ssl_key_password": SecretStr("wrong")})
    with pytest.raises(ConfigurationError, match="TLS files cannot be loaded"):
        ssl_context(wrong)


def test_hostname_checking_can_be_turned_off(pki: Pki) -> None:
    settings = secured("SSL", "PLAIN", pki, kafka_ssl_check_hostname=False)
    assert not client_security(settings)["ssl_context"].check_hostname


def test_a_missing_tls_file_is_a_configuration_error(pki: Pki, tmp_path: Path) -> None:
    settings = secured("SSL", "PLAIN", pki, kafka_ssl_cafile=tmp_path / "nope.pem")
    with pytest.raises(ConfigurationError, match=r"NLS_KAFKA_SSL_CAFILE=.*nope\.pem: no such file"):
        client_security(settings)


def test_faust_gets_sasl_over_tls_as_sasl_credentials_with_a_context(pki: Pki) -> None:
    credentials = faust_credentials(secured("SASL_SSL", "SCRAM-SHA-256", pki))
    assert credentials is not None
    assert credentials.protocol.value == "SASL_SSL"  # type: ignore[attr-defined]
    assert credentials.mechanism.value == "SCRAM-SHA-256"  # type: ignore[attr-defined]
    assert faust_credentials(Settings(kafka_bootstrap_servers="b:9092")) is None


@given(
    username=st.text(min_size=1, max_size=40).filter(str.strip),
    password=st.text(min_size=1, max_size=60),
    mechanism=st.sampled_from(MECHANISMS),
)
def test_sasl_credentials_pass_through_unchanged(
    username: str, password: str, mechanism: str
) -> None:
    settings = Settings(
        kafka_bootstrap_servers="b:9092",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username=username,
        kafka_sasl_password=SecretStr(password),
    )
    for config in (producer_config(settings), consumer_config(settings, None)):
        assert config["sasl_plain_username"] == username
        assert config["sasl_plain_password"] == password
        assert config["sasl_mechanism"] == mechanism


# --- settings: from the environment, validated, handed to children --------------------


@pytest.fixture
def secure_env(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> Iterator[None]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": f"{BROKER_HOST}:9093",
        "NLS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NLS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "NLS_KAFKA_SASL_USERNAME": "svc",
        "NLS_KAFKA_SASL_PASSWORD": "from-env",
        "NLS_KAFKA_SSL_CAFILE": str(pki.ca),
        "NLS_KAFKA_SSL_CERTFILE": str(pki.client_cert),
        "NLS_KAFKA_SSL_KEYFILE": str(pki.client_key),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    yield


def test_the_environment_configures_a_secured_cluster(secure_env: None, pki: Pki) -> None:
    settings = Settings()
    config = consumer_config(settings, "g")
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_password"] == "from-env"
    handshake(config["ssl_context"], pki)
    assert "from-env" not in repr(settings)  # a SecretStr, never printed


def test_child_processes_get_the_same_security(secure_env: None) -> None:
    env = Settings().child_env()
    assert env["NLS_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["NLS_KAFKA_SASL_PASSWORD"] == "from-env"
    assert env["NLS_KAFKA_SSL_CERTFILE"].endswith("client.pem")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "NLS_KAFKA_SASL_USERNAME"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"},
            "NLS_KAFKA_SASL_PASSWORD",
        ),
        ({"kafka_ssl_cafile": "/ca.pem"}, "choose SSL or SASL_SSL"),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_certfile": "/c.pem"},
            "needs its key",
        ),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
        ({"kafka_security_protocol": "TLS"}, "kafka_security_protocol"),
    ],
)
def test_incomplete_or_unknown_security_settings_are_refused(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(kafka_bootstrap_servers="b:9092", **values)


# --- group timeouts: tuned for the embedded broker only --------------------------------


def test_tansu_gets_its_short_timeouts_a_real_cluster_the_clients_defaults() -> None:
    tansu = Settings(kafka_bootstrap_servers="b:9092", broker_flavour="tansu")
    kafka = Settings(kafka_bootstrap_servers="b:9092", broker_flavour="kafka")
    assert consumer_timeouts(tansu) == TANSU_TIMEOUTS_MS
    assert consumer_timeouts(kafka) == {}
    config = consumer_config(kafka, "g")
    assert not {"session_timeout_ms", "rebalance_timeout_ms", "heartbeat_interval_ms"} & set(config)
    assert consumer_config(tansu, "g")["session_timeout_ms"] == 6000
    # faust: the same choice, in seconds; its own defaults otherwise.
    assert broker_options(tansu)["broker_session_timeout"] == 6.0
    assert broker_options(tansu)["broker_rebalance_timeout"] == 2.0
    assert "broker_session_timeout" not in broker_options(kafka)
    app = build_app(kafka, "timeouts")
    assert app.conf.broker_session_timeout != 6.0


def test_explicit_timeouts_apply_on_any_broker() -> None:
    kafka = Settings(
        kafka_bootstrap_servers="b:9092",
        consumer_session_timeout_ms=45_000,
        consumer_heartbeat_ms=3_000,
    )
    assert consumer_timeouts(kafka) == {"session_timeout_ms": 45_000, "heartbeat_interval_ms": 3000}
    assert broker_options(kafka)["broker_session_timeout"] == 45.0
    tansu = kafka.model_copy(update={"broker_flavour": "tansu"})
    assert consumer_timeouts(tansu)["session_timeout_ms"] == 45_000
    assert consumer_timeouts(tansu)["rebalance_timeout_ms"] == 2000


def test_faust_reaches_every_bootstrap_server() -> None:
    settings = Settings(kafka_bootstrap_servers="rp-0:9092, rp-1:9092,rp-2:9092")
    brokers = [str(u) for u in build_app(settings, "brokers").conf.broker]
    assert brokers == ["kafka://rp-0:9092", "kafka://rp-1:9092", "kafka://rp-2:9092"]
