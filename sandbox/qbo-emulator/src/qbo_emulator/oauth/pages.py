"""Server-rendered HTML: the consent page (company picker, Connect/Cancel) and authorize errors."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f8;margin:0;padding:40px}
main{max-width:460px;margin:auto;background:#fff;border-radius:8px;padding:28px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:20px;margin-top:0}label{display:block;margin:16px 0 6px;font-weight:600}
select{width:100%;padding:8px;font-size:15px}.buttons{margin-top:24px;display:flex;gap:12px}
button{padding:10px 20px;font-size:15px;border-radius:4px;border:1px solid #2ca01c;cursor:pointer}
button[value=connect]{background:#2ca01c;color:#fff}button[value=cancel]{background:#fff;color:#2ca01c}
.scopes{color:#555;font-size:14px}.error{color:#b00020}
"""


@dataclass(frozen=True)
class ConsentRequest:
    """The validated authorize parameters the consent form carries back on POST."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    app_name: str


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def consent_page(
    request: ConsentRequest, companies: list[tuple[str, str]], needs_company: bool
) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{name}' value='{escape(value, quote=True)}'>"
        for name, value in (
            ("client_id", request.client_id),
            ("redirect_uri", request.redirect_uri),
            ("scope", request.scope),
            ("state", request.state),
            ("response_type", "code"),
        )
    )
    picker = ""
    connect_disabled = ""
    if needs_company:
        if companies:
            options = "".join(
                f"<option value='{escape(realm, quote=True)}'>"
                f"{escape(name)} ({escape(realm)})</option>"
                for realm, name in companies
            )
            picker = (
                "<label for='realm_id'>Company</label>"
                f"<select id='realm_id' name='realm_id'>{options}</select>"
            )
        else:
            picker = (
                "<p class='error'>There are no companies yet. Create one with the admin API.</p>"
            )
            connect_disabled = " disabled"
    scopes = ", ".join(escape(s) for s in request.scope.split())
    body = (
        f"<h1>Connect {escape(request.app_name)} to QuickBooks</h1>"
        f"<p class='scopes'>This app asks for: {scopes}</p>"
        # No action attribute: the form posts back to the authorize URL it came from, any prefix.
        f"<form method='post'>{hidden}{picker}"
        "<div class='buttons'>"
        f"<button type='submit' name='decision' value='connect'{connect_disabled}>Connect</button>"
        "<button type='submit' name='decision' value='cancel'>Cancel</button>"
        "</div></form>"
    )
    return _page("Connect to QuickBooks", body)


def error_page(message: str) -> str:
    return _page(
        "Authorization error",
        f"<h1>Something went wrong</h1><p class='error'>{escape(message)}</p>",
    )
