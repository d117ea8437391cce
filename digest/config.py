"""Settings: the only reader of the environment (prefix DIGEST_), validated once at start."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from digest.errors import ConfigError


class SmtpTarget:
    """A parsed DIGEST_SMTP_URL: smtp://user:pass@host:587?starttls=1 or smtps://host:465."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "must look like smtp://user:pass@host:587?starttls=1 or smtps://host:465"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.use_tls = parts.scheme == "smtps"
        self.hostname = parts.hostname
        self.port = parts.port or (465 if self.use_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.start_tls = query.get("starttls", "0").lower() in ("1", "true", "yes")
        self.timeout = float(query.get("timeout", "30"))


POSTAL_ADDRESS_WARNING = (
    "DIGEST_POSTAL_ADDRESS is unset: set it to the sender's postal address, which every email's"
    " footer shows (the CAN-SPAM Act asks it of commercial email); until then the line is left out"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIGEST_", extra="ignore")

    database_url: str = "sqlite:///digest.db"
    smtp_url: str | None = None
    outbox_dir: Path = Path("outbox")
    base_url: str = "http://localhost:8000"
    from_: str = Field("digest@localhost", validation_alias="DIGEST_FROM")
    secret_key: str | None = None
    postal_address: str = ""  # unset: the footer leaves the line out; runs that send say so
    list_name: str = "Papers digest"
    window_days: int = Field(4, ge=1, le=60)
    smtp_pool_size: int = Field(4, ge=1, le=64)
    smtp_messages_per_connection: int = Field(100, ge=1)
    smtp_max_attempts: int = Field(5, ge=1, le=20)
    smtp_max_per_second: float | None = Field(None, gt=0)
    # Sending processes for a large run: 0 picks one per core, 1 always sends in-process.
    delivery_processes: int = Field(0, ge=0, le=16)
    bounce_hard_limit: int = Field(1, ge=1)
    bounce_soft_limit: int = Field(3, ge=1)
    bounce_soft_days: int = Field(14, ge=1)
    # Reports that come back later go to bounces+<signed id>@ this domain (default: From's).
    bounce_domain: str | None = None
    # A run sends nothing while complaints of the last N days pass this share of digests sent.
    bounce_complaint_rate: float = Field(0.003, gt=0, le=1)
    bounce_complaint_days: int = Field(7, ge=1, le=90)
    dkim_key_file: Path | None = None
    dkim_selector: str | None = None
    # Seconds one feed request may take in all (connect, headers, body): a deadline, not per read.
    http_timeout: float = Field(20.0, gt=0)
    user_agent_contact: str = "digest@localhost"
    # What `digest sources seed` adds to a database without sources (a fresh deployment).
    sources: str = "arxiv:cs.CL+cs.LG+cs.AI, hf:daily"
    # The web behind a reverse proxy: peers whose X-Forwarded-For is believed (addresses or
    # networks, comma-separated). /metrics needs the bearer token when one is set.
    trusted_proxies: str = "127.0.0.1, ::1"
    metrics_token: str | None = None
    # Papers first seen without authors or categories (Hugging Face, TL;DR feeds) are completed
    # from the arXiv API by id after each fetching ingest; off: DIGEST_COMPLETE_METADATA=0.
    complete_metadata: bool = True
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    complete_metadata_per_run: int = Field(500, ge=1, le=5000)
    # An optional one-line TL;DR per pick from an OpenAI-compatible chat completions endpoint
    # (e.g. https://api.openai.com/v1 or http://localhost:11434/v1); unset: the excerpt shows.
    tldr_url: str | None = None
    tldr_model: str = "gpt-4o-mini"
    # Ranking by meaning: "wordllama" (bundled, offline), "sentence-transformers:NAME" or
    # "fastembed:NAME" (that library installed; it downloads the model), or "none".
    embedding_model: str = "wordllama"
    tldr_api_key: str | None = None
    tldr_timeout: float = Field(15.0, gt=0, le=120)
    # Site-wide sign-ups per hour, and ranking pages (topics, trending) per client per minute.
    signups_per_hour: int = Field(100, ge=1)
    ranked_pages_per_minute: int = Field(30, ge=1)
    # The mailbox that receives bounce reports (`digest bounces fetch`, and the scheduler when
    # the host is set): IMAPS by default; processed messages are moved, never deleted.
    bounce_imap_host: str | None = None
    bounce_imap_port: int | None = Field(None, ge=1, le=65535)
    bounce_imap_user: str | None = None
    bounce_imap_password: str | None = None
    bounce_imap_folder: str = "INBOX"
    bounce_imap_done_folder: str = "Processed"
    bounce_imap_tls: bool = True
    bounce_imap_batch: int = Field(500, ge=1, le=10000)
    bounce_imap_minutes: int = Field(10, ge=1, le=1440)
    # Provider webhooks: the SNS topics whose SES notifications are believed (comma-separated
    # ARNs) and Mailgun's webhook signing key. Unset: that endpoint answers 403 to everyone.
    ses_topic_arns: str | None = None
    mailgun_signing_key: str | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    def warnings(self) -> list[str]:
        """What an operator should set before mailing people: shown by `run` and `status`."""
        if self.smtp_url and not self.postal_address:
            return [POSTAL_ADDRESS_WARNING]
        return []

    @field_validator("embedding_model")
    @classmethod
    def _known_embedding_model(cls, value: str) -> str:
        backend, _, model = value.strip().partition(":")
        if backend.lower() in ("wordllama", "none") or (
            backend.lower() in ("sentence-transformers", "fastembed") and model
        ):
            return value.strip()
        raise ValueError("must be wordllama, none, sentence-transformers:NAME or fastembed:NAME")

    @field_validator("smtp_url")
    @classmethod
    def _valid_smtp(cls, value: str | None) -> str | None:
        if value:
            SmtpTarget(value)
        return value or None

    @field_validator("bounce_imap_folder", "bounce_imap_done_folder")
    @classmethod
    def _imap_folder(cls, value: str) -> str:
        """Sent as an IMAP quoted string: printable ASCII only (no modified UTF-7 names)."""
        if not value.strip() or not all(" " <= ch <= "~" for ch in value):
            raise ValueError("must be a folder name in printable ASCII")
        return value.strip()

    @field_validator("ses_topic_arns")
    @classmethod
    def _topic_arns(cls, value: str | None) -> str | None:
        for arn in _comma_list(value or ""):
            if not re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+(\.fifo)?", arn):
                raise ValueError(
                    f"{arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                )
        return value or None

    @field_validator("mailgun_signing_key")
    @classmethod
    def _signing_key(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None

    @field_validator("from_", "list_name", "postal_address")
    @classmethod
    def _one_line(cls, value: str) -> str:
        """These go into message headers or a footer line: a line break would start a header."""
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError("must be one line (no CR, LF or NUL)")
        return value.strip()

    @field_validator("secret_key")
    @classmethod
    def _not_the_example_key(cls, value: str | None) -> str | None:
        """The example files' placeholder signs links anyone could forge: refuse to start."""
        if value is not None and "change-me" in value.lower():
            raise ValueError(
                "is the example placeholder: set a random one, e.g. from"
                " `python3 -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        return value or None

    @field_validator("bounce_domain")
    @classmethod
    def _domain_name(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(
            r"(?=.{1,253}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", value.strip()
        ):
            raise ValueError("must be a domain name such as bounces.example.org")
        return value.strip().lower() if value else None

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in _comma_list(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network") from None
        return value

    @field_validator("metrics_token")
    @classmethod
    def _usable_token(cls, value: str | None) -> str | None:
        """The token travels in a header: one line, and long enough not to be guessed."""
        if value and (len(value.strip()) < 16 or any(ch in value for ch in "\r\n\x00")):
            raise ValueError("must be one line of at least 16 characters")
        return value.strip() if value else None

    @field_validator("arxiv_api_url", "tldr_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("base_url")
    @classmethod
    def _absolute_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/")

    @property
    def smtp(self) -> SmtpTarget | None:
        return SmtpTarget(self.smtp_url) if self.smtp_url else None

    @property
    def seed_sources(self) -> list[str]:
        """DIGEST_SOURCES: sources separated by commas (a shorthand may contain spaces)."""
        return _comma_list(self.sources)

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(p, strict=False) for p in _comma_list(self.trusted_proxies)
        )

    @property
    def ses_topic_arn_list(self) -> list[str]:
        return _comma_list(self.ses_topic_arns or "")

    @property
    def sender_domain(self) -> str:
        return self.from_.rpartition("@")[2].strip("> ") or "localhost"

    @property
    def envelope_domain(self) -> str:
        """Where reports come back: DIGEST_BOUNCE_DOMAIN, else the From address's domain."""
        return self.bounce_domain or self.sender_domain.lower()


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def load_settings() -> Settings:
    """Read and validate the environment, turning pydantic's report into one clear message."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{_variable(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None


def _variable(location: tuple[int | str, ...]) -> str:
    """The environment variable a pydantic error location names (aliases already carry it)."""
    name = "_".join(str(part) for part in location).upper().rstrip("_")
    return name if name.startswith("DIGEST_") else f"DIGEST_{name}"
