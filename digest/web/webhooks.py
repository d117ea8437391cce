"""POST /webhooks/ses and /webhooks/mailgun: a provider's bounces and complaints, once verified.

A request is believed only when signed (SNS: the certificate from an SNS host, and one of the
configured topics; Mailgun: HMAC with the signing key, inside the replay window). Anything
else gets 403 and changes nothing; so does an endpoint whose setting is unset. Verified
events go to the same recording (idempotent, policy applied) as the bounce mailbox's. The
body is read here; verifying (it may fetch a certificate) and recording run in the thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from digest.config import Settings
from digest.deliver.bounces import record_report
from digest.deliver.provider_events import (
    PayloadRejected,
    ProviderReport,
    check_mailgun_signature,
    mailgun_report,
    parse_json_object,
    ses_report,
)
from digest.deliver.sns import SnsRejected, SnsVerifier, UrlRule, parse_message
from digest.web.pages import log_safe, web

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 256 * 1024  # SNS's own message limit


@dataclass(frozen=True)
class Webhooks:
    """Per provider, what verifies its requests; None: the endpoint refuses everything."""

    sns: SnsVerifier | None = None
    mailgun_key: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, sns_urls: UrlRule | None = None) -> Webhooks:
        """``sns_urls`` is for tests (their own certificate server); production's is SNS's."""
        topics = settings.ses_topic_arn_list
        return cls(
            sns=SnsVerifier(topics, urls=sns_urls) if topics else None,
            mailgun_key=settings.mailgun_signing_key,
        )


def _hooks(request: Request) -> Webhooks:
    hooks: Webhooks = request.app.state.webhooks
    return hooks


def refused(provider: str, reason: str) -> Response:
    log.warning("refused a %s webhook: %s", provider, log_safe(reason))
    return PlainTextResponse("forbidden\n", status_code=403)


def recorded(request: Request, provider: str, report: ProviderReport, body: bytes) -> Response:
    """Record the verified report once (its signed recipient may name the subscriber)."""
    new = 0
    if report.events:
        ctx = web(request)
        service = ctx.service
        with service.db.session() as session:
            result = record_report(
                session,
                key=report.key,
                source=provider,
                raw=body,
                message_id=report.message_id,
                events=report.events,
                verp=service.verp,
                policy=service.bounce_policy,
                now=ctx.clock(),
                trust_recipient=True,
            )
        new = 0 if result.duplicate else len(result.events)
    log.info("%s webhook: %d events, %d new", provider, len(report.events), new)
    return JSONResponse({"events": len(report.events), "recorded": new})


def handle_ses(request: Request, body: bytes) -> Response:
    verifier = _hooks(request).sns
    if verifier is None:
        return refused("ses", "DIGEST_SES_TOPIC_ARNS is not set")
    try:
        message = parse_message(body)
        verifier.verify(message, web(request).clock())
        if message.type == "SubscriptionConfirmation":
            verifier.confirm(message)
            log.info("confirmed the SNS subscription to %s", log_safe(message.topic_arn))
            return JSONResponse({"confirmed": message.topic_arn})
        if message.type != "Notification":
            return JSONResponse({"events": 0, "recorded": 0})
        report = ses_report(message.message_id, message.message)
    except (SnsRejected, PayloadRejected) as exc:
        return refused("ses", str(exc))
    return recorded(request, "ses", report, body)


def handle_mailgun(request: Request, body: bytes) -> Response:
    key = _hooks(request).mailgun_key
    if key is None:
        return refused("mailgun", "DIGEST_MAILGUN_SIGNING_KEY is not set")
    try:
        payload = parse_json_object(body)
        check_mailgun_signature(payload.get("signature"), key, web(request).clock())
    except PayloadRejected as exc:
        return refused("mailgun", str(exc))
    return recorded(request, "mailgun", mailgun_report(payload), body)


def endpoint(
    handle: Callable[[Request, bytes], Response],
) -> Callable[[Request], Awaitable[Response]]:
    async def receive(request: Request) -> Response:
        body = await request.body()  # bounded by the route's max_body_size
        return await run_in_threadpool(handle, request, body)

    return receive


routes = [
    Route(
        "/webhooks/ses",
        endpoint(handle_ses),
        methods=["POST"],
        max_body_size=MAX_WEBHOOK_BYTES,
    ),
    Route(
        "/webhooks/mailgun",
        endpoint(handle_mailgun),
        methods=["POST"],
        max_body_size=MAX_WEBHOOK_BYTES,
    ),
]
