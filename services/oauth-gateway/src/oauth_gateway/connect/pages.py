"""Server-rendered HTML of the connect pages: tiny, escaped, no scripts, no front-end build."""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
    "color:#1b1b1b}button{background:#2ca01c;color:#fff;border:0;border-radius:4px;"
    "padding:.8rem 1.4rem;font-size:1rem;cursor:pointer}.danger{background:#c62828}"
    ".muted{color:#666;font-size:.9rem}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def connect_page(
    tenant_name: str, action: str, *, reconnect: bool, hidden: dict[str, str] | None = None
) -> str:
    verb = "Reconnect" if reconnect else "Connect"
    fields = "".join(
        f'<input type=hidden name="{escape(k)}" value="{escape(v)}">'
        for k, v in (hidden or {}).items()
    )
    return _page(
        f"{verb} {tenant_name} to QuickBooks",
        f"<h1>{verb} <em>{escape(tenant_name)}</em> to QuickBooks</h1>"
        "<p>You will sign in to Intuit and choose the QuickBooks Online company whose books "
        "this account keeps in sync.</p>"
        f'<form method=post action="{escape(action)}">{fields}'
        f"<button type=submit id=connect>{verb} to QuickBooks</button></form>"
        "<p class=muted>This link works once and expires soon.</p>",
    )


def disconnect_page(tenant_name: str, action: str) -> str:
    return _page(
        f"Disconnect {tenant_name} from QuickBooks",
        f"<h1>Disconnect <em>{escape(tenant_name)}</em> from QuickBooks</h1>"
        "<p>Syncing stops and qbsync's access to your QuickBooks company is revoked.</p>"
        f'<form method=post action="{escape(action)}">'
        "<button type=submit class=danger id=disconnect>Disconnect</button></form>",
    )


def outcome_page(title: str, message: str, *, ok: bool) -> str:
    mark = "&#10003;" if ok else "&#9888;"
    return _page(title, f"<h1>{mark} {escape(title)}</h1><p id=message>{escape(message)}</p>")
