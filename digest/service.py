"""The running service's parts, built once from Settings: database, renderer, link builder.

Every entry point (CLI, web, scheduler) opens one of these, so they all share one way to do
each thing.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from functools import cached_property

from digest.config import Settings
from digest.deliver.policy import BouncePolicy, RetryPolicy
from digest.deliver.send_loop import DeliveryParts
from digest.deliver.transport import transport_for
from digest.deliver.verp import Verp
from digest.render.compose import Composer, MessageSettings
from digest.render.dkim_sign import signer_from_file
from digest.render.renderer import EmailRenderer
from digest.store.db import Database
from digest.tokens import LinkBuilder, Signer


@dataclass
class Service:
    settings: Settings
    db: Database

    @classmethod
    def open(cls, settings: Settings, *, check_schema: bool = True) -> Service:
        database = Database(settings.database_url, secret_key=settings.secret_key)
        service = cls(settings=settings, db=database)
        if check_schema:
            service.db.require_current_schema()
            # Read (or create) the signing key now, never from inside another write transaction.
            _ = service.signer
        return service

    @cached_property
    def secret(self) -> str:
        """The configured key, else the one generated once and kept in the database."""
        return self.settings.secret_key or self.db.secret_key()

    @cached_property
    def signer(self) -> Signer:
        return Signer(self.secret)

    @cached_property
    def verp(self) -> Verp:
        """Signs and checks envelope senders (bounces+<id>@DIGEST_BOUNCE_DOMAIN)."""
        return Verp.from_secret(self.secret, self.settings.envelope_domain)

    @cached_property
    def bounce_policy(self) -> BouncePolicy:
        return BouncePolicy.from_settings(self.settings)

    @cached_property
    def links(self) -> LinkBuilder:
        return LinkBuilder(self.signer, self.settings.base_url, self.settings.from_)

    @cached_property
    def renderer(self) -> EmailRenderer:
        return EmailRenderer(
            list_name=self.settings.list_name,
            postal_address=self.settings.postal_address,
            base_url=self.settings.base_url,
        )

    @cached_property
    def composer(self) -> Composer:
        """What composing messages needs, handed below the entry points instead of the Service."""
        settings = self.settings
        dkim = None
        if settings.dkim_key_file and settings.dkim_selector:
            dkim = signer_from_file(
                settings.dkim_key_file, settings.dkim_selector, settings.sender_domain
            )
        return Composer(
            message=MessageSettings(
                sender=settings.from_, domain=settings.sender_domain, list_name=settings.list_name
            ),
            links=self.links,
            renderer=self.renderer,
            dkim=dkim,
        )

    @cached_property
    def delivery(self) -> DeliveryParts:
        """What the send loop needs, handed below the entry points instead of the Service."""
        settings = self.settings
        return DeliveryParts(
            db=self.db,
            composer=self.composer,
            open_transport=functools.partial(transport_for, settings),
            retry=RetryPolicy.from_settings(settings),
            bounces=BouncePolicy.from_settings(settings),
            outbox=None if settings.smtp else settings.outbox_dir.resolve(),
            verp=self.verp,
        )

    def close(self) -> None:
        self.db.dispose()


def sending_process_parts(settings: Settings) -> DeliveryParts:
    """A sending process's parts (see deliver.send_processes); its parent checked the schema."""
    service = Service.open(settings, check_schema=False)
    _ = service.signer  # read now, never from inside another write transaction
    return service.delivery


def utcnow() -> dt.datetime:
    """The one clock read of the entry points; everything below takes `now` as an argument."""
    return dt.datetime.now(dt.UTC)
