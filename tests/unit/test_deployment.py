"""The deployment (infra/Dockerfile, infra/redpanda-compose.yml), checked by parsing it.

No Docker engine runs here, so each point of the deployment is checked on the
files themselves and against the code they configure: the image runs as nobody
in a root-owned /app, writes only where the settings point, ships the packs;
``init`` runs first; every service has a health check; every worker's metrics
reach Prometheus; images are pinned current releases; every agent is a service
with the database role it needs and no more.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from projections.roles import saslprep, scram_verifier
from services.bootstrap import bootstrap
from services.runtime.faust_app import build_app
from services.runtime.probe import check_heartbeat, check_url, heartbeat_age
from services.settings import Latency, Settings
from tools.devstack.compose import (
    FAUST_DATA,
    METRICS_PORT,
    database_access,
    with_agent_services,
    worker_commands,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "infra" / "redpanda-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
NLS_IMAGE = "nls:local"


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "infra" / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile():
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


@pytest.fixture(scope="module")
def platform() -> Any:
    return bootstrap(Settings())


def agent_services(platform: Any) -> dict[str, dict[str, Any]]:
    """Every worker's service (an agent's; the projector's two)."""
    return {name: SERVICES[name] for name in worker_commands(platform)}


def nls_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in SERVICES.items() if s.get("image") == NLS_IMAGE}


# --- the image --------------------------------------------------------------------------


def test_the_image_runs_as_nobody_in_a_root_owned_app() -> None:
    steps = dockerfile()
    words = [w for w, _ in steps]
    assert ("WORKDIR", "/app") in steps
    users = [rest for w, rest in steps if w == "USER"]
    assert users == ["nobody"], "one USER, nobody"
    after_user = words[words.index("USER") + 1 :]
    assert set(after_user) <= {"ENTRYPOINT", "CMD"}, "nothing is built as nobody"
    for word, rest in steps:
        if word in {"COPY", "ADD"}:
            assert "--chown" not in rest and "--chmod" not in rest, rest  # root keeps /app
        if word == "RUN":
            for command in ("chown", "chmod"):
                for target in re.findall(rf"{command}\s+(?:-\S+\s+)*\S+\s+(\S+)", rest):
                    assert not target.startswith("/app"), f"{command} {target}: /app stays root's"


def test_the_base_image_is_pinned() -> None:
    base = next(rest for w, rest in dockerfile() if w == "FROM")
    name, _, tag = base.partition(":")
    assert name == "python" and tag and tag != "latest"
    assert re.match(r"3\.\d+", tag), "a Python minor version"


def test_the_image_ships_the_packs_and_examples_where_the_settings_look(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.courses.settings import CourseSettings
    from services.drills.settings import DrillSettings
    from services.lessons.settings import LessonSettings

    copies = {rest.split()[-1]: rest.split()[0] for w, rest in dockerfile() if w == "COPY"}
    assert copies.get("packs") == "packs" and copies.get("examples") == "examples"
    packs_dir = image_env()["NLS_PACKS_DIR"]
    assert packs_dir == "/app/packs"
    monkeypatch.setenv("NLS_PACKS_DIR", packs_dir)
    wanted = {
        DrillSettings().drill_principles_pack: "backgammon/principles.yaml",
        LessonSettings().packs_dir: "",
        CourseSettings().course_packs: "",
    }
    for path, inside in wanted.items():
        assert path == Path(packs_dir) / inside if inside else Path(packs_dir)
        assert (ROOT / "packs" / inside).exists(), f"the image's {path} comes from packs/{inside}"


def test_faust_and_the_state_dir_write_where_nobody_may(monkeypatch: pytest.MonkeyPatch) -> None:
    env = image_env()
    data_dir = env["NLS_FAUST_DATA_DIR"]
    assert data_dir == FAUST_DATA
    runs = " ".join(rest for w, rest in dockerfile() if w == "RUN")
    assert re.search(rf"mkdir -p {re.escape(data_dir)}\b", runs)
    owned = re.findall(r"chown -R nobody:nogroup (\S+)", runs)
    for path in (data_dir, env["NLS_STATE_DIR"]):
        assert any(path == o or path.startswith(o + "/") for o in owned), path
    # The setting reaches faust: its app folder is under NLS_FAUST_DATA_DIR.
    monkeypatch.setenv("NLS_FAUST_DATA_DIR", data_dir)
    settings = Settings(kafka_bootstrap_servers="redpanda:9092")
    assert settings.faust_data_dir == Path(data_dir)
    app = build_app(settings, "jit")
    assert Path(app.conf.datadir) == Path(data_dir) / "nls.jit"


def test_faust_creates_its_data_dir_with_any_missing_parents(tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap_servers="b:9092", faust_data_dir=tmp_path / "new" / "dir")
    app = build_app(settings, "drill-batches")
    app._create_directories()  # what the worker does on its first start
    assert (tmp_path / "new" / "dir" / "nls.drill-batches").is_dir()


def test_without_the_setting_faust_keeps_out_of_the_working_directory() -> None:
    settings = Settings(kafka_bootstrap_servers="b:9092", state_dir="/var/tmp/nls-state")
    assert Path(build_app(settings, "jit").conf.datadir) == Path("/var/tmp/nls-state/faust/nls.jit")


# --- the compose file: init, health, metrics ---------------------------------------------


def test_init_runs_once_before_every_nls_service() -> None:
    init = SERVICES["init"]
    assert init["command"] == ["nls", "init"]
    assert init["restart"] == "no"
    assert init["image"] == NLS_IMAGE
    assert init["depends_on"] == {
        "redpanda": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    others = {n: s for n, s in nls_services().items() if n != "init"}
    assert {"api", "projector", "diagnoser"} <= set(others)
    for name, service in others.items():
        assert service["depends_on"]["init"] == {"condition": "service_completed_successfully"}, (
            name
        )
        assert service["restart"] == "unless-stopped", name
    assert init["environment"]["NLS_SCHEMA_REGISTRY_URL"].endswith("http://redpanda:8081}")
    assert any(
        "--schema-registry-addr=internal://0.0.0.0:8081" in a
        for a in SERVICES["redpanda"]["command"]
    )


def test_every_service_has_a_healthcheck() -> None:
    for name, service in SERVICES.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        if check.get("disable"):
            # A one-shot is judged by its exit code, which everything else waits for.
            assert service.get("restart") == "no", name
            assert all(
                s.get("depends_on", {}).get(name) == {"condition": "service_completed_successfully"}
                for s in SERVICES.values()
                if name in s.get("depends_on", {})
            )
            continue
        assert check["test"][0] in {"CMD", "CMD-SHELL"} and len(check["test"]) > 1, name


def test_workers_check_their_heartbeat_and_the_api_its_healthz(platform: Any) -> None:
    for name, service in agent_services(platform).items():
        test = service["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "services.runtime.probe"], name
        assert "--url" not in test, name
    api = SERVICES["api"]["healthcheck"]["test"]
    assert api[:4] == ["CMD", "python", "-m", "services.runtime.probe"]
    assert api[api.index("--url") + 1] == "http://127.0.0.1:8080/healthz"


def test_every_workers_metrics_reach_prometheus(platform: Any) -> None:
    for name, service in agent_services(platform).items():
        assert service["environment"]["NLS_METRICS_PORT"] == str(METRICS_PORT), name
        assert Settings(metrics_port=service["environment"]["NLS_METRICS_PORT"]).metrics_port
    prometheus = SERVICES["prometheus"]
    source = prometheus["configs"][0]
    assert source["target"] == "/etc/prometheus/prometheus.yml"
    assert f"--config.file={source['target']}" in prometheus["command"]
    config = yaml.safe_load(COMPOSE["configs"][source["source"]]["content"])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    dns = jobs["nls-workers"]["dns_sd_configs"][0]
    assert set(dns["names"]) == set(worker_commands(platform)), "run `nls dev compose`"
    assert dns["type"] == "A" and dns["port"] == METRICS_PORT
    relabel = jobs["nls-workers"]["relabel_configs"][0]
    assert relabel["source_labels"] == ["__meta_dns_name"] and relabel["target_label"] == "service"
    # The API's /metrics (projector lag, DLQ depth) needs the bearer token: a secret.
    api_job = jobs["nls-api"]
    assert api_job["static_configs"][0]["targets"] == ["api:8080"]
    secret = api_job["authorization"]["credentials_file"].removeprefix("/run/secrets/")
    assert secret in {s["source"] for s in prometheus["secrets"]}
    assert COMPOSE["secrets"][secret] == {"environment": "NLS_API_TOKEN"}
    assert "prometheus-data:/prometheus" in prometheus["volumes"]


# --- images -----------------------------------------------------------------------------


def _version(image: str) -> tuple[int, ...]:
    tag = image.rpartition(":")[2]
    assert tag != "latest" and re.match(r"v?\d+\.\d+", tag), f"{image}: pin a version"
    return tuple(int(p) for p in re.findall(r"\d+", tag.split("-")[0]))


def test_images_are_pinned_supported_releases() -> None:
    images = {n: s["image"] for n, s in SERVICES.items() if s.get("image") != NLS_IMAGE}
    assert set(images) == {"redpanda", "console", "postgres", "prometheus"}
    versions = {n: _version(image) for n, image in images.items()}
    assert all(len(v) >= 2 for v in versions.values()), versions
    assert versions["redpanda"] >= (26, 2), "Redpanda 26.2 or later (24.2 is out of support)"
    assert versions["console"] >= (3, 14), "Console v3"
    assert versions["prometheus"] >= (3, 0)
    assert versions["postgres"] >= (16, 0)
    console = yaml.safe_load(SERVICES["console"]["environment"]["CONSOLE_CONFIG_FILE"])
    # Console v3 reads the schema registry from its own top-level section.
    assert console["schemaRegistry"] == {"enabled": True, "urls": ["http://redpanda:8081"]}
    assert console["kafka"]["brokers"] == ["redpanda:9092"]


# --- agents, scaling, database roles ----------------------------------------------------


def test_every_agent_of_the_registry_is_a_service(platform: Any) -> None:
    assert with_agent_services(COMPOSE_TEXT, platform) == COMPOSE_TEXT, "run `nls dev compose`"
    running = {
        n for n, s in SERVICES.items() if s.get("command", [])[:3] == ["nls", "agent", "run"]
    }
    workers = worker_commands(platform)
    assert running == set(workers)
    assert {spec.name for spec, _ in workers.values()} == set(platform.agents)
    # The projector's two services fold every read model once, the interactive apart.
    folds = {
        name: args[2::2] for name, (spec, args) in workers.items() if spec.runner == "projector"
    }
    assert sorted(n for names in folds.values() for n in names) == sorted(platform.projections)
    assert set(folds["projector-interactive"]) == {
        n for n, p in platform.projections.items() if p.latency is not Latency.BULK
    }
    partitions = int(COMPOSE["x-nls-env"]["NLS_TOPIC_PARTITIONS"])
    for name, (spec, args) in workers.items():
        service = SERVICES[name]
        assert service["command"] == ["nls", "agent", "run", *args]
        replicas = service.get("deploy", {}).get("replicas", 1)
        assert replicas == spec.replicas
        assert 1 <= replicas <= partitions, f"{name}: more replicas than partitions idle"
        mounts = service.get("volumes", [])
        if spec.runner == "faust":
            assert f"faust-data:{FAUST_DATA}" in mounts, name
        else:
            assert not mounts, name
    assert {"faust-data", "prometheus-data", "redpanda-data", "postgres-data"} == set(
        COMPOSE["volumes"]
    )


def _db_user(service: dict[str, Any]) -> str | None:
    url = service.get("environment", {}).get("DATABASE_URL")
    if url is None:
        return None
    match = re.match(r"postgresql://([^:]+):\$\{(\w+):\?[^}]+\}@postgres:5432/nls$", url)
    assert match, f"{url}: a role, its password from the environment"
    return match.group(1)


def test_each_service_gets_the_database_role_it_needs_and_no_more(platform: Any) -> None:
    defaults = Settings()
    roles = {"projector": defaults.db_projector_role, "reader": defaults.db_reader_role}
    for name, spec in platform.agents.items():
        access = database_access(platform, spec)
        expected = roles[access] if access else None
        assert _db_user(SERVICES[name]) == expected, name
    assert database_access(platform, platform.agents["projector"]) == "projector"
    assert database_access(platform, platform.agents["remediation"]) == "reader"
    assert _db_user(SERVICES["api"]) == defaults.db_reader_role
    assert _db_user(SERVICES["init"]) == "nls"  # the administrator: it creates the roles
    admins = [n for n, s in SERVICES.items() if _db_user(s) == "nls"]
    assert admins == ["init"]
    # Only init learns the roles' passwords.
    for name, service in SERVICES.items():
        env = service.get("environment", {})
        has = "NLS_DB_READER_PASSWORD" in env or "NLS_DB_PROJECTOR_PASSWORD" in env
        assert has == (name == "init"), name


def test_secrets_come_from_the_environment_only() -> None:
    for variable in (
        "NLS_API_TOKEN",
        "POSTGRES_PASSWORD",
        "NLS_DB_READER_PASSWORD",
        "NLS_DB_PROJECTOR_PASSWORD",
    ):
        assert f"${{{variable}:?set {variable}}}" in COMPOSE_TEXT, variable
    assert SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"] == (
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    )


def test_every_security_setting_passes_through_to_every_nls_service() -> None:
    wanted = {
        f"NLS_{name.upper()}"
        for name in Settings.model_fields
        if name.startswith(("kafka_security", "kafka_sasl", "kafka_ssl"))
    }
    assert len(wanted) == 9
    env = COMPOSE["x-nls-env"]
    for variable in wanted:
        assert variable in env and env[variable] is None, f"{variable}: pass it through"
    for name, service in nls_services().items():
        assert wanted <= set(service["environment"]), name


# --- the health probe -------------------------------------------------------------------


PAGE = """# HELP nls_worker_heartbeat_seconds When the worker's event loop last ran
# TYPE nls_worker_heartbeat_seconds gauge
nls_worker_heartbeat_seconds{agent="jit"} 1000.0
"""


def test_the_heartbeat_age_is_read_from_the_metrics_page() -> None:
    assert heartbeat_age(PAGE, now=1012.5) == 12.5
    assert heartbeat_age("# nothing here\n", now=1.0) is None


def test_a_worker_is_healthy_while_its_heartbeat_is_fresh() -> None:
    def page(url: str, timeout_s: float) -> tuple[int, str]:
        assert url == f"http://127.0.0.1:{METRICS_PORT}/metrics"
        return 200, PAGE

    assert check_heartbeat(METRICS_PORT, now=1010.0, fetch=page).healthy
    stale = check_heartbeat(METRICS_PORT, max_age_s=30, now=1031.0, fetch=page)
    assert not stale.healthy and "31 s old" in stale.reason


def test_a_worker_without_an_answer_or_a_heartbeat_is_unhealthy() -> None:
    def refused(url: str, timeout_s: float) -> tuple[int, str]:
        raise ConnectionRefusedError(111, "Connection refused")

    def empty(url: str, timeout_s: float) -> tuple[int, str]:
        return 200, "# no samples\n"

    def error(url: str, timeout_s: float) -> tuple[int, str]:
        return 500, ""

    assert "does not answer" in check_heartbeat(1, fetch=refused).reason
    assert "no heartbeat" in check_heartbeat(1, fetch=empty).reason
    assert not check_heartbeat(1, fetch=error).healthy
    assert check_url("http://api/healthz", fetch=lambda u, t: (200, "")).healthy
    assert not check_url("http://api/healthz", fetch=lambda u, t: (503, "")).healthy


# --- role passwords ---------------------------------------------------------------------


def test_role_passwords_are_sent_as_scram_verifiers() -> None:
    verifier = scram_verifier("correct horse", salt=b"0123456789abcdef")
    match = re.fullmatch(
        r"SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)", verifier
    )
    assert match and "correct horse" not in verifier
    assert scram_verifier("correct horse", salt=b"0123456789abcdef") == verifier
    assert scram_verifier("correct horse") != scram_verifier("correct horse")  # fresh salts
    assert Settings(db_reader_password=SecretStr("x")).db_reader_password is not None


def test_saslprep_maps_and_normalises_like_postgres() -> None:
    assert saslprep("plain ascii\x01") == b"plain ascii\x01"  # ASCII as it is
    assert saslprep("I\u00adX") == b"IX"  # soft hyphen: mapped to nothing
    assert saslprep("\u2168") == b"IX"  # NFKC
    assert saslprep("a\u00a0b") == b"a b"  # non-ASCII space: a space
    assert saslprep("caf\u00e9") == "caf\u00e9".encode()
    prohibited = "bad\u0007\u00e9"  # a control character: the raw bytes are hashed
    assert saslprep(prohibited) == prohibited.encode()
