"""Settings, read from the environment (prefix ``CAS_``) and an optional ``.env`` file."""

from __future__ import annotations

import base64
import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me-0000000000000000"
DEFAULT_FIELD_KEY = "ZGV2LWluc2VjdXJlLWZpZWxkLWtleS0wMDAwMDAwMDA="  # 32 bytes, base64
DEFAULT_DEMO_PASSWORD = "demo-password-2026"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAS_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEFAULT_SECRET_KEY
    # Key for field encryption (SSN) and files at rest: 32 bytes, urlsafe base64.
    field_encryption_key: str = DEFAULT_FIELD_KEY
    # Several keys, newest first, comma-separated (key rotation): the newest encrypts, any of
    # them decrypts; `cas rotate-keys` re-encrypts what older keys wrote. Unset: the one key
    # above.
    field_encryption_keys: str | None = None
    # Secret of the keyed search hashes (SSN, last four digits); unset: derived from
    # CAS_FIELD_ENCRYPTION_KEY, as before key rotation. Changing it needs `cas rotate-keys`
    # (every hash is recomputed) before searches by SSN find older records again.
    search_hash_key: str | None = None

    # Unset => an embedded PostgreSQL is started in ``data_dir``.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CAS_DATABASE_URL", "DATABASE_URL")
    )
    # A read replica (a hot standby) of that database: the queue and caseload exports read
    # their rows there (README, Operations: the scaling path). Unset => every read on the
    # primary.
    database_replica_url: str | None = None
    data_dir: Path = Path(".cas-data")
    # Connections kept open. At most db_pool_size + db_max_overflow are open at once; those beyond
    # db_pool_size are closed again when returned, so under load they would be reopened (a new
    # PostgreSQL backend each time): the default keeps all of them.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # Seconds to open a connection (TCP and PostgreSQL handshake); also bounds the liveness check
    # of a pooled connection before use.
    db_connect_timeout_seconds: float = 5.0
    # Seconds a request waits for a free pooled connection.
    db_pool_timeout_seconds: float = 10.0
    # Seconds one SQL statement may run (enforced by PostgreSQL, and by the client when the
    # server stops answering).
    db_statement_timeout_seconds: float = 15.0
    db_echo: bool = False
    # Seconds /health/ready waits for each check (database, file store) before reporting it failed.
    health_timeout_seconds: float = 2.0

    access_token_ttl_seconds: int = 900
    refresh_idle_ttl_seconds: int = 1800
    refresh_absolute_ttl_seconds: int = 12 * 3600
    # Seconds after a rotation in which the previous refresh token, presented again, returns the
    # same new pair (several browser tabs refreshing at once) instead of ending the session.
    refresh_reuse_grace_seconds: int = Field(default=20, ge=0, le=300)
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "cas-api"

    lockout_threshold: int = 5
    lockout_minutes: int = 15
    invitation_ttl_hours: int = 72
    password_reset_ttl_minutes: int = 60
    # Per client IP, per window, for all unauthenticated auth requests together (login, refresh,
    # password reset request and confirm, invitation accept).
    auth_rate_limit: int = 30
    auth_rate_window_seconds: int = 60
    # Password reset requests per email address (any client) per window; beyond, dropped
    # silently (the same 202, no email).
    password_reset_address_limit: int = 3
    password_reset_address_window_seconds: int = 3600
    # Failed logins per account (any client address; unknown addresses alike) per window.
    account_login_failure_limit: int = 10
    account_login_failure_window_seconds: int = 3600
    # Exports per user per window (the queue's and caseloads' CSV/XLSX files, HUD HMIS CSV):
    # beyond, 429 with Retry-After. Kept in PostgreSQL like the limits above, so the budget is
    # the same whichever instance answers.
    export_rate_limit: int = Field(default=30, ge=1)
    export_rate_window_seconds: int = Field(default=600, ge=1)
    # Reverse proxies (IP addresses or networks) whose X-Forwarded-For is believed; empty: none,
    # the client address is the connection's peer.
    trusted_proxies: list[str] = []

    cors_origins: list[str] = []
    max_json_body_bytes: int = 1_048_576
    max_upload_bytes: int = 20 * 1_048_576

    email_sender: Literal["file", "smtp"] = "file"
    email_from: str = "CAS <no-reply@cas.invalid>"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    public_base_url: str = "http://localhost:8000"

    # The front end's address: links in notification emails open pages there
    # (``<frontend_base_url>/notifications/<id>``); unset: ``public_base_url``.
    frontend_base_url: str | None = None

    demo_password: str = DEFAULT_DEMO_PASSWORD
    log_level: str = "INFO"
    # Seconds between housekeeping runs (what `cas maintenance` runs once); 0 turns it off.
    maintenance_interval_seconds: float = 3600.0
    # Seconds between recomputing every open queue entry's facts (what `cas queue-refresh` runs
    # once); 0 turns the loop off.
    queue_refresh_interval_seconds: float = 86400.0
    # How long an Idempotency-Key is remembered.
    idempotency_ttl_hours: int = 24

    # --- Background jobs (``cas worker``; in ``cas serve`` unless turned off) ---
    # Run the job runner inside each ``cas serve`` process (the one-machine default); turn off
    # when ``cas worker`` processes run beside the servers.
    run_jobs_in_server: bool = True
    # Seconds a worker waits before looking for due jobs again when it found none.
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    # Jobs one worker claims and runs at once.
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    # Seconds a claimed job is a worker's; renewed while it runs, taken over by another worker
    # once it expires (the worker died).
    job_lease_seconds: float = Field(default=120.0, gt=0)
    # Retries wait base * 2^(attempt-1) seconds (at most the max), with random jitter.
    job_retry_base_seconds: float = Field(default=10.0, ge=0)
    job_retry_max_seconds: float = Field(default=3600.0, ge=0)
    # Tries before a job is dead-lettered.
    job_max_attempts: int = Field(default=8, ge=1, le=100)
    # Days finished jobs are kept (maintenance removes older succeeded ones; dead ones stay).
    job_retention_days: int = Field(default=14, ge=1)
    # Days a sent email's outbox row (address and subject; the body is cleared once sent) is
    # kept; unsent ones stay.
    email_retention_days: int = Field(default=30, ge=1)
    # Days a finished webhook delivery (succeeded, failed or skipped) and its tries stay in the
    # delivery log; pending ones stay.
    webhook_delivery_retention_days: int = Field(default=30, ge=1)
    # Seconds between the scans that find 90-day inactive clients and expired documents.
    notification_scan_interval_seconds: float = 3600.0
    # Seconds between sweeps for notification events whose fan-out was never queued.
    notification_sweep_interval_seconds: float = 300.0
    # Expired documents are reported when they expired at most this many days ago (a first run
    # does not report every document that ever expired).
    document_expiry_lookback_days: int = Field(default=7, ge=0, le=366)

    # --- Live updates (``GET /api/v1/notifications/stream``) ---
    # Seconds between keep-alive comments (the session is checked again at each).
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # A stream ends after this many seconds at most (or when its access token expires); the
    # browser reconnects.
    sse_max_seconds: float = Field(default=3600.0, gt=0)
    # Streams one user may hold open on one API process (each holds a connection and reads the
    # inbox at every change); one more is a 429.
    sse_max_streams_per_user: int = Field(default=5, ge=1, le=100)

    # --- Partner webhooks ---
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    # Failed attempts in a row (over all deliveries) that disable a subscription.
    webhook_disable_after_failures: int = Field(default=15, ge=1)
    # Networks a webhook URL may resolve to although they are loopback, private, link-local or
    # otherwise not public (for tests and on-premises receivers), JSON list: ["127.0.0.1/32"].
    webhook_allowed_networks: list[str] = []

    # --- Documents (Document Check, Client Files) ---
    # Where uploaded files live (encrypted with a key derived from field_encryption_key).
    storage_backend: Literal["local", "s3"] = "local"
    # Local backend directory; unset => ``data_dir / "files"``.
    storage_dir: Path | None = None
    # S3-compatible backend (AWS S3, MinIO, Ceph, ...); needs the ``s3`` extra (boto3).
    s3_bucket: str | None = None
    s3_prefix: str = "documents/"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # Content types accepted for uploads, detected from the file's bytes.
    allowed_upload_types: list[str] = [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/heic",
        "image/heif",
    ]
    # Days a soft-deleted document's bytes are kept before ``purge_deleted`` removes them.
    document_retention_days: int = 30

    # --- HUD HMIS CSV exports and imports ---
    # Where export zips and uploaded import zips are kept (encrypted like documents) until the
    # job is over / the export expires; unset => ``data_dir / "hmis-files"``.
    hmis_files_dir: Path | None = None
    # Largest import zip accepted (compressed bytes).
    hmis_max_upload_bytes: int = 1024**3
    # Zip bomb limits: bytes once inflated (all entries), entries, inflation ratio of an entry.
    hmis_max_uncompressed_bytes: int = 8 * 1024**3
    hmis_max_entries: int = 64
    hmis_max_compression_ratio: int = 200
    # Hours an export's zip can be downloaded before it is deleted.
    hmis_export_retention_hours: int = 24

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"CAS_TRUSTED_PROXIES: {entry!r} is not an IP address or network (name each "
                    "proxy; '*' would let any client choose its address)"
                )
            if network.prefixlen == 0:
                raise ValueError(
                    f"CAS_TRUSTED_PROXIES: {entry!r} is every address, like '*': any client "
                    "could choose its address (name each proxy, or its network)"
                )
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _webhook_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"CAS_WEBHOOK_ALLOWED_NETWORKS: {entry!r} is not an IP address or network"
                )
        return value

    @field_validator("database_replica_url")
    @classmethod
    def _replica_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("CAS_DATABASE_REPLICA_URL is not a database URL") from None
        if url.get_backend_name() not in ("postgresql", "postgres"):
            raise ValueError("CAS_DATABASE_REPLICA_URL must be a postgresql:// URL")
        if not url.database or not (url.host or url.query.get("host")):
            raise ValueError("CAS_DATABASE_REPLICA_URL must name a host and a database")
        return value

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        decode_field_key(self.field_encryption_key)
        for key in self.encryption_keys:
            decode_field_key(key)
        if self.search_hash_key is not None:
            decode_field_key(self.search_hash_key)
        if self.environment == "production":
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "CAS_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production"
                )
            if DEFAULT_FIELD_KEY in self.encryption_keys or (
                self.search_hash_secret == DEFAULT_FIELD_KEY
            ):
                raise ValueError("CAS_FIELD_ENCRYPTION_KEY(S) must be set in production")
        if self.email_sender == "smtp" and not self.smtp_host:
            # Refused at start, not found out by every email dead-lettering.
            raise ValueError("CAS_SMTP_HOST must be set when CAS_EMAIL_SENDER is smtp")
        return self

    @property
    def encryption_keys(self) -> list[str]:
        """Field and file encryption keys, newest first (the newest encrypts)."""
        if self.field_encryption_keys:
            keys = [k.strip() for k in self.field_encryption_keys.split(",") if k.strip()]
            if keys:
                return keys
        return [self.field_encryption_key]

    @property
    def search_hash_secret(self) -> str:
        """What the search-hash key is derived from (unchanged by encryption key rotation)."""
        return self.search_hash_key or self.field_encryption_key

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def frontend_url(self) -> str:
        """Where links in notification emails point (no trailing slash)."""
        return (self.frontend_base_url or self.public_base_url).rstrip("/")

    @property
    def hmis_dir(self) -> Path:
        return self.hmis_files_dir or self.data_dir / "hmis-files"


def decode_field_key(raw: str) -> bytes:
    """The 32-byte key behind ``CAS_FIELD_ENCRYPTION_KEY`` (urlsafe base64)."""
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError("CAS_FIELD_ENCRYPTION_KEY must be 32 bytes, urlsafe-base64 encoded")
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
