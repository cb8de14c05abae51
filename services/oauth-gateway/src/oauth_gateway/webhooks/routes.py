"""POST /webhooks/intuit: reads the raw body, lets the receiver decide, answers at once."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from oauth_gateway.webhooks.receiver import Outcome, WebhookReceiver

# Intuit's deliveries are a few KB; B4 (RELIABILITY §8) sends 2 MB and expects an answer, so the
# limit sits above that with headroom. The public Ingress's proxy-body-size must match (4m):
# tests/deploy checks the two agree, so nginx and the app refuse the same bodies.
MAX_BODY = 4 * 1024 * 1024


def webhook_router(receiver: WebhookReceiver) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post(
        "/webhooks/intuit",
        status_code=200,
        responses={401: {"description": "bad or missing intuit-signature"}, 413: {}},
        summary="Receive an Intuit webhook delivery (legacy or CloudEvents)",
    )
    async def intuit_webhook(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            receiver.too_large()
            return Response(status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            receiver.too_large()
            return Response(status_code=413)
        outcome = await receiver.receive(body, request.headers.get("intuit-signature"))
        if outcome is Outcome.BAD_SIGNATURE:
            return Response(status_code=401)
        return Response(status_code=200)

    return router
