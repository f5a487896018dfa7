"""The deployment files stay consistent with the code (no Docker engine here to run them).

compose.yaml must parse, use only Compose-specification keys, wire depends_on to real
services with valid conditions, run only commands the `fabledger` CLI accepts, and set
only settings that exist; env.example likewise names only real settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.settings import Settings
from workers.cli import parser

DEPLOY = Path(__file__).resolve().parents[2] / "infra" / "deploy"

# The keys of the Compose specification (compose-spec.io) this file may use.
TOP_LEVEL = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
SERVICE_KEYS = {
    "build",
    "command",
    "depends_on",
    "entrypoint",
    "env_file",
    "environment",
    "healthcheck",
    "image",
    "ports",
    "profiles",
    "restart",
    "stop_grace_period",
    "stop_signal",
    "volumes",
    "deploy",
    "user",
    "working_dir",
}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "disable"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTART = {"no", "always", "on-failure", "unless-stopped"}
SETTING_FIELDS = {f"FABLEDGER_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_only_compose_specification_keys_are_used(compose: dict[str, Any]) -> None:
    assert {k for k in compose if not k.startswith("x-")} <= TOP_LEVEL
    for name, service in compose["services"].items():
        assert set(service) <= SERVICE_KEYS, (name, set(service) - SERVICE_KEYS)
        assert service.get("restart", "no") in RESTART
        if "healthcheck" in service:
            assert set(service["healthcheck"]) <= HEALTHCHECK_KEYS
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    for volume in (v for s in compose["services"].values() for v in s.get("volumes", [])):
        assert volume.split(":")[0] in compose["volumes"]


def test_dependencies_name_services_and_wait_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for needed, rule in service.get("depends_on", {}).items():
            assert needed in services, (name, needed)
            assert rule["condition"] in CONDITIONS
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], needed
    assert services["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["relay"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "/api/health" in " ".join(services["api"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "kafka-broker-api-versions" in " ".join(services["kafka"]["healthcheck"]["test"])


def test_kafka_runs_in_kraft_mode_on_one_node(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert compose["services"]["postgres"]["image"] == "postgres:16"


def test_every_fabledger_service_runs_a_real_command_with_real_settings(
    compose: dict[str, Any],
) -> None:
    ours = {n: s for n, s in compose["services"].items() if s.get("image") == "fabledger:local"}
    assert set(ours) == {"api", "projections", "relay", "notify", "slicer", "billing"}
    for name, service in ours.items():
        command = [c.replace("${API_WORKERS:-2}", "2") for c in service["command"]]
        assert command[0] == "fabledger"
        parser().parse_args(command[1:])  # SystemExit on anything the CLI does not know
        unknown = set(service["environment"]) - SETTING_FIELDS
        assert not unknown, (name, unknown)
        assert service["environment"]["FABLEDGER_PROJECTIONS_IN_PROCESS"] == "false"


def test_the_env_example_names_only_real_settings() -> None:
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert names - {"POSTGRES_PASSWORD"} <= SETTING_FIELDS, names - SETTING_FIELDS


def test_the_image_serves_the_api_by_default() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert "RUN pip install ." in dockerfile
    assert 'CMD ["fabledger", "serve", "--host", "0.0.0.0"' in dockerfile
