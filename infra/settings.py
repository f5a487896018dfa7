"""Settings: every knob of a fabledger process, read once from the environment."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One class, one table in the README; env vars are prefixed FABLEDGER_."""

    model_config = SettingsConfigDict(env_prefix="FABLEDGER_", extra="ignore")

    env: str = "development"
    data_dir: Path = Path("data")
    database_url: str = ""  # postgresql://... ; empty for SQLite files; memory:// for tests
    host: str = "127.0.0.1"
    port: int = 8000
    jwt_secret: str = ""
    jwt_hours: int = 8
    # Fernet key(s) sealing secrets kept in events (TOTP secrets), comma-separated, the first
    # sealing; empty: one generated into the data dir. Every API process needs the same.
    secrets_key: SecretStr = SecretStr("")
    max_file_size_mb: int = Field(
        default=50, validation_alias=AliasChoices("MAX_FILE_SIZE_MB", "FABLEDGER_MAX_FILE_SIZE_MB")
    )
    mesh_workers: int = 2  # upload analyses at once, each in a sandboxed worker process
    mesh_memory_mb: int = 1024  # what one upload analysis may allocate (RLIMIT_AS)
    mesh_timeout_seconds: float = 20.0  # per upload analysis; the worker is killed after it
    mesh_max_waiting: int = 6  # uploads waiting for a worker; beyond it 503 at once
    read_wait_seconds: float = 5.0
    read_wait_max_waiters: int = 256  # read-your-writes waits in flight per process; then 503
    max_json_bytes: int = 1024 * 1024  # every request body but the uploads' (413 beyond)
    projections_in_process: bool = True
    log_level: str = "INFO"
    stripe_api_key: SecretStr = SecretStr("")  # empty: Stripe off (no paid plans, no reporting)
    stripe_api_base: str = ""  # empty: Stripe's own API; e.g. a localstripe URL in tests
    # The signing secret (whsec_...) of the Stripe webhook endpoint of card payments; empty:
    # every webhook is refused (400), so no card payment is confirmed.
    stripe_webhook_secret: SecretStr = SecretStr("")
    mail_driver: str = "console"  # console (log each mail) or smtp
    public_url: str = "http://localhost:8000"  # links in mails (password reset) point here
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_user: str = ""  # empty: no AUTH
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    smtp_from: str = "fabledger <orders@fabledger.invalid>"
    kafka_bootstrap: str = ""  # host:port[,host:port]; empty: no Kafka (no relay, no consumers)
    kafka_partitions: int = 6  # partitions of each topic the relay creates
    kafka_topic_prefix: str = "fabledger."  # topics <prefix><app>, groups <prefix>projection.<view>
    # During a breaking change of an event type: these applications' logs are also published
    # to <topic>.previous with the changed types one version back (comma-separated names).
    kafka_mirror_previous: str = ""
    projections_source: str = "db"  # db (the event log) or kafka: what feeds the read models
    ready_max_lag: int = 10_000  # events a view may lag behind its log before /api/ready is 503
    rate_limits_enabled: bool = True  # the seed's per-IP limits (429); the tests turn them off
    # Comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client;
    # empty: the peer address is the client (a forged header counts for nothing).
    trusted_proxies: str = ""
    # Group commit (application/group_commit.py): concurrent commands of one process share
    # one transaction. The leader waits up to this long for more commands, only while
    # clients are concurrent (a lone client never waits); 0: never wait, still group the
    # commands queued behind a write in flight.
    group_commit_wait_ms: float = 2.0
    group_commit_max: int = 64  # commands per transaction at most; 0 or 1: group commit off
    # Firm quotes (issue 14): the slicer's command; empty turns slicing off (jobs still queue).
    slicer_command: str = "prusa-slicer"
    # Embedded mode slices in a thread of the API process; otherwise `fabledger worker slicer`.
    slicer_in_process: bool = True
    slicer_timeout_seconds: float = 300.0  # per slice; the slicer's process group is killed
    slicer_memory_mb: int = 2048  # what one slice may allocate (RLIMIT_AS)

    @property
    def uses_postgres(self) -> bool:
        """PostgreSQL when a URL is configured, else the embedded SQLite files."""
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def max_file_bytes(self) -> int:
        """The upload cap in bytes."""
        return self.max_file_size_mb * 1024 * 1024

    def event_store_env(self, app_name: str) -> dict[str, str]:
        """The eventsourcing environment for one application's event store."""
        return {
            **self._store_env(app_name),
            **self._group_commit_env(),
            # Same stored layout as the library's JSONTranscoder, decoded ~2x faster.
            "TRANSCODER_TOPIC": "infra.transcoder:FastJSONTranscoder",
        }

    def _group_commit_env(self) -> dict[str, str]:
        """FabApplication's group commit knobs (application/base.py reads them)."""
        return {
            "GROUP_COMMIT_WAIT_MS": str(self.group_commit_wait_ms),
            "GROUP_COMMIT_MAX": str(self.group_commit_max),
        }

    def _store_env(self, app_name: str) -> dict[str, str]:
        if self.database_url == "memory://":
            # In-memory event store (tests and benchmarks); views still go to the data dir.
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if not self.uses_postgres:
            return {
                "PERSISTENCE_MODULE": "infra.sqlite_store:FabSQLiteFactory",
                "SQLITE_DBNAME": str(self.data_dir / f"{app_name}.db"),
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        url = urlparse(self.database_url)
        return {
            "PERSISTENCE_MODULE": "infra.eventstore:FabPostgresFactory",
            "POSTGRES_DBNAME": url.path.lstrip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or ""),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            # Also the longest wait for a pooled connection: while the database is away,
            # requests answer 503 within seconds (with infra.eventstore's bounded retries).
            "POSTGRES_CONNECT_TIMEOUT": "2",
            # Per application (11 per process) the pool keeps POOL_SIZE connections open:
            # 2 made ~25 per API process idle, so 8 processes exhausted max_connections=200.
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_PRE_PING": "y",
        }

    def resolved_jwt_secret(self) -> str:
        """The configured secret, or one generated once and kept in the data dir (0600)."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def resolved_secrets_keys(self) -> list[str]:
        """The configured Fernet keys, or one generated once and kept in the data dir (0600)."""
        configured = self.secrets_key.get_secret_value()
        if configured:
            return [key.strip() for key in configured.split(",") if key.strip()]
        path = self.data_dir / "secrets_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            # A Fernet key: 32 random bytes, url-safe base64 (what Fernet.generate_key makes).
            path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        return [path.read_text().strip()]
