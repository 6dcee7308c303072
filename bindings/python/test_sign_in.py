"""The force sign-in through the Python bindings, as a shell drives it: the
core's URL for the system browser (PKCE S256, state, nonce; the verifier
never in it), a forged redirect refused, the provider's refusal reported,
and a handset with no sign-in telling the shell to show one. A provider on
loopback serves discovery and a token endpoint; the whole flow against a
real provider (Keycloak's login form, its tokens accepted by the backend,
a restart renewing from the stored refresh token) is in
scripts/keycloak-e2e.py."""

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import Events, g, open_handset

REDIRECT = "uk.police.guardian:/oauth2redirect"


@pytest.fixture
def provider():
    """Discovery, and a token endpoint that refuses every grant (recorded)."""
    grants = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/realm/.well-known/openid-configuration":
                self.reply(200, {"issuer": issuer, "authorization_endpoint": f"{issuer}/auth",
                                 "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/keys"})
            else:
                self.reply(404, {})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            grants.append({k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()})
            self.reply(400, {"error": "invalid_grant", "error_description": "Code not valid"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer = f"http://127.0.0.1:{server.server_address[1]}/realm"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield issuer, grants
    server.shutdown()


def configured(tmp_path, issuer, url="http://127.0.0.1:9"):
    h = open_handset(tmp_path / "h.db", url)
    h.configure_sign_in(g.SignInConfig(issuer=issuer, client_id="guardian-handset", redirect_uri=REDIRECT))
    return h


def test_the_url_asks_for_a_code_with_pkce_and_a_forged_redirect_is_refused(provider, tmp_path):
    issuer, grants = provider
    h = configured(tmp_path, issuer)
    url = asyncio.run(h.begin_sign_in())
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{issuer}/auth"
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q["response_type"] == "code" and q["client_id"] == "guardian-handset"
    assert q["redirect_uri"] == REDIRECT
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert "openid" in q["scope"].split() and "offline_access" in q["scope"].split()
    assert len(q["state"]) >= 22 and len(q["nonce"]) >= 22 and q["state"] != q["nonce"]
    assert "code_verifier" not in url

    # Another attempt's state: refused before anything is sent anywhere.
    with pytest.raises(g.SyncError.Auth, match="state"):
        asyncio.run(h.complete_sign_in(f"{REDIRECT}?code=stolen&state=not-{q['state']}"))
    assert grants == []

    # This attempt's redirect: the code goes to the token endpoint with the
    # verifier, and the provider's refusal comes back as the reason.
    url = asyncio.run(h.begin_sign_in())
    q2 = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert q2["state"] != q["state"] and q2["code_challenge"] != q["code_challenge"]
    with pytest.raises(g.SyncError.Auth, match="invalid_grant"):
        asyncio.run(h.complete_sign_in(f"{REDIRECT}?code=c0de&state={q2['state']}"))
    (grant,) = grants
    assert grant["grant_type"] == "authorization_code" and grant["code"] == "c0de"
    assert grant["redirect_uri"] == REDIRECT and len(grant["code_verifier"]) == 43

    # The attempt was spent: the same redirect again is not answered.
    with pytest.raises(g.SyncError.Auth, match="start it again"):
        asyncio.run(h.complete_sign_in(f"{REDIRECT}?code=c0de&state={q2['state']}"))
    assert len(grants) == 1
    assert h.officer() is None


def test_with_no_sign_in_sync_waits_and_the_shell_is_told_to_show_one(provider, force, tmp_path):
    issuer, _ = provider
    h = configured(tmp_path, issuer, force.url)
    events = Events()
    h.set_event_listener(events)
    h.start_sync(None)
    with pytest.raises(g.SyncError.Auth, match="sign in"):
        asyncio.run(h.sync_now())
    (told,) = events.of(g.GuardianEvent.AUTH_REQUIRED)
    assert "sign in" in told.reason


def test_a_provider_off_loopback_must_be_https_and_sync_needs_a_sign_in(tmp_path):
    h = open_handset(tmp_path / "h.db")
    with pytest.raises(g.SyncError.Config, match="https"):
        h.configure_sign_in(g.SignInConfig(issuer="http://login.example.org/realm", client_id="c",
                                           redirect_uri=REDIRECT))
    with pytest.raises(g.SyncError.Config, match="not configured"):
        h.start_sync(None)
    with pytest.raises(g.SyncError.Config, match="not configured"):
        asyncio.run(h.begin_sign_in())
