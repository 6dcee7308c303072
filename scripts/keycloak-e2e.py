#!/usr/bin/env python3
"""The backend as an OpenID Connect resource server against a real Keycloak.

    python3 scripts/keycloak-e2e.py --keycloak http://127.0.0.1:PORT \
        --backend target/debug/guardian-backend

Keycloak runs the realms in scripts/keycloak/ (scripts/keycloak.sh starts
one; scripts/keycloak-tests.sh runs both). Every token is obtained the way
a handset or the review pages would get it: the authorization endpoint's
login form, authorization code + PKCE S256 with state and nonce, the
redirect caught instead of followed (the "system browser" handing it back
to the app), the code exchanged at the token endpoint. Then the role
routes, hostile tokens, a disabled user, a user disabled mid-session and a
signing-key rotation against one backend that is never restarted.

Stdlib only. Exits non-zero with the failed assertion; the last line is
one JSON object of timings.
"""

import argparse
import base64
import hashlib
import hmac
import html.parser
import http.cookiejar
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HANDSET_REDIRECT = "uk.police.guardian:/oauth2redirect"
AUDIENCE = "guardian-api"
# The signing keys this test adds are named so; a rerun deletes them.
E2E_KEY = "guardian-e2e-"
STARTED = time.monotonic()


class Failed(Exception):
    """An assertion or a step failed."""


class Refused(Exception):
    """Keycloak would not sign someone in (the page's message)."""


def check(cond, what):
    if not cond:
        raise Failed(what)
    print(f"  ok  {what}")


def note(what):
    print(f"  --  {what}")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token):
    h, p, _ = token.split(".")
    return json.loads(unb64url(h)), json.loads(unb64url(p))


# -- HTTP: no redirect is followed (the caller looks at each), and cookies
# marked Secure are sent to loopback over http, as browsers treat
# http://127.0.0.1 as a secure context (Keycloak marks its login cookies
# Secure there, and Python's jar would otherwise drop them).


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class LoopbackPolicy(http.cookiejar.DefaultCookiePolicy):
    def return_ok_secure(self, cookie, request):
        host = urllib.parse.urlsplit(request.full_url).hostname
        return not cookie.secure or request.type == "https" or host in ("127.0.0.1", "::1")


def browser():
    jar = http.cookiejar.CookieJar(policy=LoopbackPolicy())
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)


PLAIN = urllib.request.build_opener(NoRedirect)


def call(method, url, form=None, body=None, headers=None, opener=PLAIN):
    """(status, headers, body bytes); 4xx/5xx/3xx are answers, not errors."""
    headers = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(url, token=None):
    status, _, body = call("GET", url, headers={"Authorization": f"Bearer {token}"} if token else None)
    return status, json.loads(body) if body[:1] in (b"{", b"[") else body


class LoginPage(html.parser.HTMLParser):
    """Keycloak's login form (action and inputs) and any message shown."""

    def __init__(self, text):
        super().__init__()
        self.action, self.inputs, self.messages, self._in_msg = None, {}, [], 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "kc-form-login":
            self.action = a.get("action")
        elif tag == "input" and a.get("name"):
            self.inputs[a["name"]] = a.get("value") or ""
        marker = (a.get("id") or "") + " " + (a.get("class") or "")
        if self._in_msg or "input-error" in marker or "kc-feedback-text" in marker:
            self._in_msg += 1

    def handle_endtag(self, tag):
        if self._in_msg:
            self._in_msg -= 1

    def handle_data(self, data):
        if self._in_msg and data.strip():
            self.messages.append(data.strip())


def log_in(url, username, password, opener=None):
    """What the officer does in the system browser: open the authorization
    URL, fill in Keycloak's login form. Returns the redirect it answers with
    (not followed: the app receives it), or raises Refused."""
    opener = opener or browser()
    status, headers, body = call("GET", url, opener=opener)
    if status in (302, 303):
        raise Refused(f"the authorization endpoint redirected at once: {headers['Location']}")
    page = LoginPage(body.decode())
    if status != 200 or not page.action:
        raise Failed(f"{username}: no login form ({status})")
    form = dict(page.inputs, username=username, password=password)
    status, headers, body = call("POST", page.action, form=form, opener=opener)
    if status not in (302, 303):
        raise Refused(" ".join(LoginPage(body.decode()).messages) or f"login answered {status}")
    return headers["Location"]


class Realm:
    def __init__(self, base, name):
        self.name = name
        status, self.disco = get_json(f"{base}/realms/{name}/.well-known/openid-configuration")
        if status != 200:
            raise Failed(f"realm {name}: discovery answered {status}")
        self.issuer = self.disco["issuer"]

    def sign_in(self, client_id, username, password, redirect_uri, secret=None, pkce=True):
        """The authorization code flow through the real login form.

        Returns (tokens, seconds) or raises Refused with the page's message.
        """
        t0 = time.monotonic()
        opener = browser()
        verifier = b64url(secrets.token_bytes(32))
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        q = {"client_id": client_id, "response_type": "code", "scope": "openid",
             "redirect_uri": redirect_uri, "state": state, "nonce": nonce}
        if pkce:
            q["code_challenge"] = b64url(hashlib.sha256(verifier.encode()).digest())
            q["code_challenge_method"] = "S256"
        location = log_in(self.disco["authorization_endpoint"] + "?" + urllib.parse.urlencode(q), username,
                          password, opener)
        # The app, not the browser, receives this: it must be our redirect
        # URI, carry our state and name the issuer (RFC 9207).
        if not location.startswith(redirect_uri + "?"):
            raise Failed(f"{username}: redirected to {location}, not {redirect_uri}")
        got = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if got.get("state") != state:
            raise Failed(f"{username}: state came back as {got.get('state')!r}")
        if got.get("iss") != self.issuer:
            raise Failed(f"{username}: the redirect's iss is {got.get('iss')!r}")
        if "code" not in got:
            raise Failed(f"{username}: no code in {location}")
        tokens = self.token(client_id, secret, grant_type="authorization_code", code=got["code"],
                            redirect_uri=redirect_uri, code_verifier=verifier)
        if tokens[0] != 200:
            raise Failed(f"{username}: code exchange answered {tokens[0]} {tokens[1]}")
        tokens = tokens[1]
        if jwt_parts(tokens["id_token"])[1].get("nonce") != nonce:
            raise Failed(f"{username}: the ID token's nonce is not ours")
        return tokens, time.monotonic() - t0

    def token(self, client_id, secret=None, **form):
        """The token endpoint: (status, JSON). A confidential client
        authenticates with HTTP Basic (client_secret_basic)."""
        headers = {}
        if secret:
            cred = f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        else:
            form["client_id"] = client_id
        status, _, body = call("POST", self.disco["token_endpoint"], form=form, headers=headers)
        return status, json.loads(body)


class Backend:
    """guardian-backend serve on a temporary SQLite file, trusting one issuer."""

    def __init__(self, binary, issuer, work, web_secret):
        self.binary, self.db = binary, os.path.join(work, "backend.db")
        # The review pages' client secret, in a file as in production.
        self.secret_file = os.path.join(work, "web-client-secret")
        with open(self.secret_file, "w") as f:
            f.write(web_secret + "\n")
        self.log_path = os.path.join(work, "backend.log")
        self.issuer, self.proc = issuer, None

    def cli(self, *args):
        done = subprocess.run([self.binary, *args, "--db", self.db], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise Failed(f"guardian-backend {args[0]} exited {done.returncode}: {done.stderr.strip()}")

    def start(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.log_path, "w")
        # A force's provider comes with the force's own referral keys.
        keys = os.path.join(os.path.dirname(self.db), "referral.keys")
        if not os.path.exists(keys):
            subprocess.run([self.binary, "new-referral-key", "--keys-file", keys, "--id", "e2e"],
                           stdout=subprocess.DEVNULL, check=True)
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--db", self.db, "--addr", f"127.0.0.1:{port}",
             "--oidc-issuer", self.issuer, "--oidc-audience", AUDIENCE,
             "--referral-keys-file", keys,
             "--oidc-id-claim", "oid", "--oidc-role-claim", "roles",
             "--web-client-id", "guardian-web", "--web-client-secret-file", self.secret_file,
             "--public-url", self.url],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while "listening on" not in self.log_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Failed(f"the backend did not start; its log:\n{self.log_text()}")
            time.sleep(0.05)
        # It fetched the issuer's key set before listening.
        self.last_fetch = time.monotonic()
        return self.log_text().splitlines()

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def get(self, path, token):
        status, body = get_json(self.url + path, token)
        return status, (body.get("error") if isinstance(body, dict) else None), body

    def expect(self, who, path, token, status, slug=None):
        """Asserts the answer's status and error slug (one, or a tuple of
        the slugs allowed)."""
        got, got_slug, body = self.get(path, token)
        slugs = (slug,) if isinstance(slug, str) else slug
        ok = got == status and (slugs is None or got_slug in slugs)
        want = f"{status}" + (f" {'|'.join(slugs)}" if slugs else "")
        check(ok, f"{who}: GET {path} -> {want}" + (f" ({got_slug})" if ok and slugs and len(slugs) > 1 else "")
              + ("" if ok else f" (got {got} {body!r:.300})"))


class Admin:
    """Keycloak's admin REST API, as the master realm's admin."""

    def __init__(self, base, username, password):
        self.base, self.username, self.password, self.expires = base, username, password, 0

    def bearer(self):
        # The master realm's tokens live 60 s: a new one when near its end.
        if time.monotonic() > self.expires:
            status, _, body = call("POST", f"{self.base}/realms/master/protocol/openid-connect/token",
                                   form={"grant_type": "password", "client_id": "admin-cli",
                                         "username": self.username, "password": self.password})
            if status != 200:
                raise Failed(f"admin sign-in to the master realm answered {status}: {body[:200]!r}")
            got = json.loads(body)
            self.token, self.expires = got["access_token"], time.monotonic() + got["expires_in"] - 20
        return self.token

    def __call__(self, method, path, body=None):
        status, headers, data = call(method, f"{self.base}/admin/realms/{path}", body=body,
                                     headers={"Authorization": f"Bearer {self.bearer()}"})
        if status >= 300:
            raise Failed(f"admin API {method} {path} answered {status}: {data[:300]!r}")
        return json.loads(data) if data else headers

    def keys(self, realm):
        return self("GET", f"{realm}/components?type=org.keycloak.keys.KeyProvider")

    def set_enabled(self, realm, username, enabled):
        rep = self.user(realm, username)
        rep["enabled"] = enabled
        self("PUT", f"{realm}/users/{rep['id']}", rep)

    def reset(self, realm):
        """Undoes an earlier run's changes (a reused Keycloak): users
        enabled as the realm file says, our keys deleted, the realm's own
        keys enabled, RS256 the default again."""
        for c in self.keys(realm):
            if c["name"].startswith(E2E_KEY):
                self("DELETE", f"{realm}/components/{c['id']}")
            elif c["config"].get("enabled") == ["false"]:
                c["config"]["enabled"] = ["true"]
                self("PUT", f"{realm}/components/{c['id']}", c)
        self("PUT", realm, {"defaultSignatureAlgorithm": "RS256"})

    def user(self, realm, username):
        return self("GET", f"{realm}/users?exact=true&username={urllib.parse.quote(username)}")[0]

    def add_key(self, realm, provider, priority, **config):
        realm_id = self("GET", realm)["id"]
        cfg = {"priority": [str(priority)], "enabled": ["true"], "active": ["true"]}
        cfg.update({k: [v] for k, v in config.items()})
        self("POST", f"{realm}/components", {"name": f"{E2E_KEY}{provider}", "providerId": provider,
                                              "providerType": "org.keycloak.keys.KeyProvider",
                                              "parentId": realm_id, "config": cfg})


def tampered(token, what):
    h, p, s = token.split(".")
    if what == "signature":
        sig = bytearray(unb64url(s))
        sig[len(sig) // 2] ^= 0x01
        return f"{h}.{p}.{b64url(bytes(sig))}"
    header, claims = json.loads(unb64url(h)), json.loads(unb64url(p))
    if what == "payload":
        claims["roles"] = ["admin"]
        return f"{h}.{b64url(json.dumps(claims).encode())}.{s}"
    if what in ("none", "none-signed"):
        # Unsigned as RFC 7519 writes it (empty signature), or with the
        # real signature left on.
        header["alg"] = "none"
        return f"{b64url(json.dumps(header).encode())}.{p}." + (s if what == "none-signed" else "")
    if what == "hs256":
        # The classic confusion: HMAC keyed with something public.
        header["alg"] = "HS256"
        signing = f"{b64url(json.dumps(header).encode())}.{p}"
        mac = hmac.new(header.get("kid", "k").encode(), signing.encode(), hashlib.sha256).digest()
        return f"{signing}.{b64url(mac)}"
    raise ValueError(what)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keycloak", required=True, help="Keycloak's base URL, e.g. http://127.0.0.1:8081")
    ap.add_argument("--backend", required=True, help="the guardian-backend binary")
    ap.add_argument("--bindings", help="the generated Python bindings' directory (scripts/bindings.sh): "
                    "the handset core's own sign-in is driven through them too")
    ap.add_argument("--realm-file", default=os.path.join(here, "keycloak", "guardian-realm.json"))
    ap.add_argument("--admin", default=os.environ.get("GUARDIAN_KEYCLOAK_ADMIN", "admin"))
    ap.add_argument("--admin-password", default=os.environ.get("GUARDIAN_KEYCLOAK_ADMIN_PASSWORD",
                                                               "guardian-admin-1"))
    args = ap.parse_args()
    base = args.keycloak.rstrip("/")
    timings = {"sign_in_s": {}}

    # Users, passwords, oids and the web client's secret: the realm file is
    # the one source.
    with open(args.realm_file) as f:
        realm_rep = json.load(f)
    with open(os.path.join(os.path.dirname(args.realm_file), "other-realm.json")) as f:
        other_rep = json.load(f)
    users = {u["username"]: u for u in realm_rep["users"]}
    password = {u["username"]: u["credentials"][0]["value"] for u in realm_rep["users"] + other_rep["users"]}
    oid = {n: u["attributes"]["oid"][0] for n, u in users.items()}
    web_secret = next(c["secret"] for c in realm_rep["clients"] if c["clientId"] == "guardian-web")
    tid = next(m["config"]["claim.value"] for c in realm_rep["clients"] if c["clientId"] == "guardian-handset"
               for m in c["protocolMappers"] if m["name"] == "tid")

    work = tempfile.mkdtemp(prefix="guardian-kc-e2e.")
    backend = None
    try:
        guardian, other = Realm(base, "guardian"), Realm(base, "other")
        # A reused Keycloak may hold an earlier run's changes.
        admin = Admin(base, args.admin, args.admin_password)
        admin.reset("guardian")
        for name, u in users.items():
            admin.set_enabled("guardian", name, u["enabled"])

        print("== the backend, trusting", guardian.issuer)
        backend = Backend(os.path.abspath(args.backend), guardian.issuer, work, web_secret)
        backend.cli("create-officer", "--id", oid["pc.able"], "--name", "PC Able", "--rank", "constable")
        backend.cli("create-officer", "--id", oid["pcso.baker"], "--name", "PCSO Baker", "--rank", "pcso")
        backend.cli("create-officer", "--id", oid["pc.gone"], "--name", "PC Gone", "--rank", "constable")
        backend.cli("create-officer", "--id", oid["pc.twohats"], "--name", "PC Twohats", "--rank", "constable")
        backend.cli("create-navigator", "--id", oid["nav.birmingham"], "--name", "Nav Birmingham",
                    "--authority", "birmingham")
        backend.cli("create-navigator", "--id", oid["nav.coventry"], "--name", "Nav Coventry",
                    "--authority", "coventry")
        t0 = time.monotonic()
        for line in backend.start():
            note(f"backend: {line}")
        timings["backend_start_s"] = round(time.monotonic() - t0, 3)

        print("== signing in through the authorization endpoint")
        tokens = {}

        def sign_in(username, client="guardian-handset", redirect=HANDSET_REDIRECT, secret=None, realm=guardian,
                    label=None):
            tok, took = realm.sign_in(client, username, password[username], redirect, secret)
            timings["sign_in_s"][label or username] = round(took, 3)
            note(f"{label or username} signed in via {client} in {took:.2f} s")
            return tok

        tokens["pc.able"] = sign_in("pc.able")
        # A handset may also use a loopback redirect on any port (RFC 8252).
        tokens["pcso.baker"] = sign_in("pcso.baker", redirect=f"http://127.0.0.1:{free_port()}/callback")
        tokens["nav.birmingham"] = sign_in("nav.birmingham")
        tokens["nav.coventry"] = sign_in("nav.coventry")
        review_redirect = f"{backend.url}/review/callback"
        tokens["sup.dale"] = sign_in("sup.dale", "guardian-web", review_redirect, web_secret)
        tokens["admin.eve"] = sign_in("admin.eve", "guardian-web", review_redirect, web_secret)
        tokens["pc.twohats"] = sign_in("pc.twohats")
        tokens["visitor.fay"] = sign_in("visitor.fay")
        at = {n: t["access_token"] for n, t in tokens.items()}

        header, claims = jwt_parts(at["pc.able"])
        note(f"pc.able's access token: header {header}, claims {sorted(claims)}")
        check(claims["iss"] == guardian.issuer, "iss is the realm's issuer")
        aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        check(AUDIENCE in aud, f"aud {aud} includes {AUDIENCE}")
        check(claims.get("oid") == oid["pc.able"], "oid is the user's oid attribute")
        check(claims.get("tid") == tid, "tid is the realm's fixed tenant id")
        check(claims.get("roles") == ["officer"], f"roles is ['officer'] (got {claims.get('roles')!r})")
        check(claims.get("rank") == "constable", "rank is the user's rank attribute")
        check(claims["exp"] - claims["iat"] == 300, "the access token lives 300 s")
        check(jwt_parts(at["pcso.baker"])[1].get("rank") == "pcso", "pcso.baker's rank is pcso")
        check(jwt_parts(at["sup.dale"])[1].get("azp") == "guardian-web", "sup.dale's token is guardian-web's")

        # PKCE is required of the handset: an authorization request without
        # a challenge is sent back with an error, no login form.
        try:
            guardian.sign_in("guardian-handset", "pc.able", password["pc.able"], HANDSET_REDIRECT, pkce=False)
            raise Failed("an authorization request without PKCE got a login form")
        except Refused as e:
            check("error=invalid_request" in str(e), "no PKCE: the authorization request is refused (invalid_request)")

        print("== roles on the routes")
        backend.expect("constable", "/v1/me/patrols", at["pc.able"], 200)
        backend.expect("constable", "/v1/sync", at["pc.able"], 200)
        backend.expect("constable", "/v1/navigator/referrals", at["pc.able"], 403, "forbidden")
        backend.expect("constable", "/v1/admin/stats", at["pc.able"], 403, "forbidden")
        backend.expect("PCSO", "/v1/me/patrols", at["pcso.baker"], 200)
        backend.expect("navigator (Birmingham)", "/v1/navigator/referrals", at["nav.birmingham"], 200)
        backend.expect("navigator (Coventry)", "/v1/navigator/referrals", at["nav.coventry"], 200)
        backend.expect("navigator", "/v1/me/patrols", at["nav.birmingham"], 403, "forbidden")
        backend.expect("supervisor", "/v1/review/days", at["sup.dale"], 200)
        backend.expect("supervisor", "/review", at["sup.dale"], 200)
        backend.expect("supervisor", "/v1/admin/stats", at["sup.dale"], 403, "forbidden")
        backend.expect("admin", "/v1/admin/stats", at["admin.eve"], 200)
        backend.expect("admin", "/v1/review/days", at["admin.eve"], 200)
        check(sorted(jwt_parts(at["pc.twohats"])[1].get("roles", [])) == ["officer", "supervisor"],
              "pc.twohats's token carries roles officer and supervisor")
        backend.expect("two Guardian roles", "/v1/me/patrols", at["pc.twohats"], 403, "ambiguous-role")
        check("roles" not in jwt_parts(at["visitor.fay"])[1], "visitor.fay's token has no roles claim")
        review_pages(backend, password)
        backend.expect("no Guardian role", "/v1/me/patrols", at["visitor.fay"], 403, "no-role")

        print("== hostile tokens")
        hostile = sign_in("mallory", realm=other, label="mallory (realm other)")["access_token"]
        hc = jwt_parts(hostile)[1]
        note(f"realm other's token: iss {hc['iss']}, oid {hc.get('oid')}, roles {hc.get('roles')}, aud {hc.get('aud')}")
        backend.expect("realm other (pc.able's oid, officer)", "/v1/me/patrols", hostile, 401, "token-issuer")
        backend.expect("signature byte flipped", "/v1/me/patrols", tampered(at["pc.able"], "signature"), 401,
                       "token-signature")
        backend.expect("roles rewritten to admin", "/v1/admin/stats", tampered(at["pc.able"], "payload"), 401,
                       "token-signature")
        # `none` is refused either way; which slug is unsettled:
        # backend/openapi.yaml lists it under token-algorithm, the backend
        # (and backend/tests/oidc.rs) answer token-malformed.
        for form in ("none", "none-signed"):
            backend.expect(f"alg {form}", "/v1/me/patrols", tampered(at["pc.able"], form), 401,
                           ("token-algorithm", "token-malformed"))
        backend.expect("alg HS256", "/v1/me/patrols", tampered(at["pc.able"], "hs256"), 401, "token-algorithm")
        backend.expect("the ID token (aud guardian-handset)", "/v1/me/patrols", tokens["pc.able"]["id_token"], 401,
                       "token-audience")
        got = backend.get("/v1/me/patrols", tokens["pc.able"]["refresh_token"])
        note(f"the refresh token as a bearer: {got[0]} {got[1]}")
        check(got[0] == 401, "the refresh token is no bearer token (401)")

        print("== a disabled user")
        try:
            guardian.sign_in("guardian-handset", "pc.gone", password["pc.gone"], HANDSET_REDIRECT)
            raise Failed("pc.gone (disabled) signed in")
        except Refused as e:
            check(True, f"pc.gone (enabled=false) cannot sign in; the form says: {e}")

        print("== pcso.baker disabled mid-session (admin REST API)")
        admin.set_enabled("guardian", "pcso.baker", False)
        status, body = guardian.token("guardian-handset", grant_type="refresh_token",
                                      refresh_token=tokens["pcso.baker"]["refresh_token"])
        check(status == 400 and body.get("error") == "invalid_grant",
              f"their refresh_token grant is refused: {status} {body}")
        got = backend.get("/v1/me/patrols", at["pcso.baker"])
        left = jwt_parts(at["pcso.baker"])[1]["exp"] - time.time()
        note(f"their access token ({left:.0f} s left) at the backend: {got[0]} {got[1] or ''}"
             " (a resource server verifying signatures alone honours it until exp)")
        status, _, body = call("GET", guardian.disco["userinfo_endpoint"],
                               headers={"Authorization": f"Bearer {at['pcso.baker']}"})
        note(f"the same token at Keycloak's userinfo: {status} {body[:120].decode(errors='replace')}")
        timings["disabled_user_backend_status"] = got[0]

        if args.bindings:
            handset_core(args.bindings, guardian, backend, admin, password, oid, work, timings)

        print("== signing keys rotated, the backend still running")
        first_kid = jwt_parts(at["pc.able"])[0]["kid"]
        admin.add_key("guardian", "rsa-generated", 200, keySize="2048", algorithm="RS256")
        rotated = sign_in("pc.able", label="pc.able (new RSA key)")["access_token"]
        h = jwt_parts(rotated)[0]
        check(h["kid"] != first_kid, f"the new token's kid {h['kid']} is not the first's {first_kid}")
        timings["rsa_new_kid_refused_s"] = accept_new_kid(backend, "RS256 key rotated in", rotated)
        backend.expect("the first token (old key still published)", "/v1/me/patrols", at["pc.able"], 200)

        # The first RSA key withdrawn (disabled: gone from the JWKS), as a
        # provider retiring a key would; no new kid reaches the backend yet.
        first = next(c for c in admin.keys("guardian")
                     if c["providerId"] == "rsa-generated" and not c["name"].startswith(E2E_KEY))
        first["config"]["enabled"] = ["false"]
        admin("PUT", f"guardian/components/{first['id']}", first)
        _, jwks = get_json(guardian.disco["jwks_uri"])
        check(first_kid not in [k["kid"] for k in jwks["keys"]], "the first RSA key is gone from the JWKS")
        got = backend.get("/v1/me/patrols", at["pc.able"])
        note(f"a token signed by the withdrawn key, before any new kid: {got[0]} {got[1] or ''}")
        timings["withdrawn_key_status_before_refetch"] = got[0]
        # Then ES256: a new kid, so the backend refetches the key set.
        admin.add_key("guardian", "ecdsa-generated", 300, ecdsaEllipticCurveKey="P-256")
        admin("PUT", "guardian", {"defaultSignatureAlgorithm": "ES256"})
        es = sign_in("pc.able", label="pc.able (ES256)")["access_token"]
        h = jwt_parts(es)[0]
        check(h["alg"] == "ES256", f"the new token is ES256 (kid {h['kid']})")
        timings["es256_new_kid_refused_s"] = accept_new_kid(backend, "ES256 key added", es)
        got = backend.get("/v1/me/patrols", at["pc.able"])
        note(f"a token signed by the withdrawn key, after the refetch: {got[0]} {got[1] or ''}")
        timings["withdrawn_key_status_after_refetch"] = got[0]
        admin.reset("guardian")
        admin.set_enabled("guardian", "pcso.baker", True)
    except (Failed, Refused, urllib.error.URLError) as e:
        print(f"FAILED: {e.reason if isinstance(e, urllib.error.URLError) else e}"
              + (" (an HTTP request)" if isinstance(e, urllib.error.URLError) else ""), file=sys.stderr)
        if backend and backend.proc:
            print("the backend's log:\n" + backend.log_text()[-3000:], file=sys.stderr)
        return 1
    finally:
        if backend:
            backend.stop()
        shutil.rmtree(work, ignore_errors=True)
    timings["total_s"] = round(time.monotonic() - STARTED, 3)
    timings["sign_ins"] = len(timings["sign_in_s"])
    print("keycloak-e2e: all passed")
    print(json.dumps(timings))
    return 0


def review_pages(backend, password):
    """The review pages' own sign-in: the backend as guardian-web, a
    confidential client, through the real login form; a server-side session
    that signing out ends."""
    print("== the review pages sign in with Keycloak")

    def pages_sign_in(username):
        op = browser()
        status, headers, _ = call("GET", f"{backend.url}/review/login/start?next=%2Freview%2Fevaluation", opener=op)
        check(status == 303 and "code_challenge_method=S256" in headers["Location"],
              f"{username}: /review/login/start sends the browser to Keycloak with PKCE")
        back = log_in(headers["Location"], username, password[username], op)
        check(back.startswith(f"{backend.url}/review/callback?"), f"{username}: Keycloak sends the browser back")
        status, headers, body = call("GET", back, opener=op)
        return op, status, headers, body

    op, status, headers, body = pages_sign_in("sup.dale")
    check(status == 200 and b"0;url=/review/evaluation" in body, "sup.dale: the callback opens a session, on to next")
    session = next((c.split(";")[0] for c in headers.get_all("Set-Cookie") or [] if c.startswith("guardian_review=")), "")
    check(session and "." not in session, "the cookie is a session id, not a token")
    status, _, _ = call("GET", f"{backend.url}/review", opener=op)
    check(status == 200, "sup.dale reads the review pages on the session")
    status, _, _ = call("GET", back_again := f"{backend.url}/review", headers={"Cookie": session})
    check(status == 200, "the session cookie alone opens the page")
    status, _, _ = call("POST", f"{backend.url}/review/logout", opener=op)
    check(status == 303, "sup.dale signs out")
    status, _, _ = call("GET", back_again, headers={"Cookie": session})
    check(status == 401, "after sign-out the same cookie opens nothing (the server ended the session)")
    _, status, headers, _ = pages_sign_in("pc.able")
    check(status == 403 and not any(c.startswith("guardian_review=") for c in headers.get_all("Set-Cookie") or []),
          "a constable signs in but gets no review session (403)")


def handset_core(bindings, realm, backend, admin, password, oid, work, timings):
    """The handset core's own sign-in, through its Python bindings as a
    shell drives it: its URL opened in "the browser" (Keycloak's login form),
    the redirect handed back whole, the officer pulled with the access
    token the backend verified; the process restarted (the access token was
    in memory only) and renewed from the encrypted store's refresh token;
    then the user disabled, and the next start is told to sign in again
    with nothing of theirs dropped."""
    import asyncio
    import gc

    sys.path.insert(0, os.path.abspath(bindings))
    import guardian_ffi as g

    print("== the handset core signs in (its Python bindings)")

    class Events(g.EventListener):
        def __init__(self):
            self.seen = []

        def on_event(self, event):
            self.seen.append(event)

    redirect = f"http://127.0.0.1:{free_port()}/oauth2redirect"
    key = bytes(range(1, 33))

    def handset(path):
        h = g.Guardian.open(g.GuardianConfig(db_path=path, backend_url=backend.url), key)
        events = Events()
        h.set_event_listener(events)
        h.configure_sign_in(g.SignInConfig(issuer=realm.issuer, client_id="guardian-handset", redirect_uri=redirect))
        h.start_sync(None)
        return h, events

    def restarted(h, path):
        h.stop_sync()
        del h
        gc.collect()
        return handset(path)

    # The section before left pcso.baker disabled.
    admin.set_enabled("guardian", "pcso.baker", True)
    for username in ("pc.able", "pcso.baker"):
        path = os.path.join(work, f"{username}.db")
        h, events = handset(path)
        t0 = time.monotonic()
        url = asyncio.run(h.begin_sign_in())
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        check(q.get("code_challenge_method") == "S256" and q.get("nonce") and q.get("state"),
              f"{username}: the core's URL asks for a code with PKCE S256, state and nonce")
        officer = asyncio.run(h.complete_sign_in(log_in(url, username, password[username])))
        timings["sign_in_s"][f"{username} (handset core)"] = round(time.monotonic() - t0, 3)
        check(officer == oid[username], f"{username}: the core read the officer's oid from the ID token")
        asyncio.run(h.sync_now())
        check(h.officer() and h.officer().officer_id == oid[username],
              f"{username}: the backend took the core's access token (officer pulled)")

        h, events = restarted(h, path)
        asyncio.run(h.sync_now())
        check(h.officer().officer_id == oid[username],
              f"{username}: after a restart the core renewed from its stored refresh token")

    # pcso.baker's handset: the force disables the account.
    admin.set_enabled("guardian", "pcso.baker", False)
    h, events = restarted(h, path)
    try:
        asyncio.run(h.sync_now())
        raise Failed("a disabled user's handset synced")
    except g.SyncError.Auth as e:
        check(True, f"pcso.baker disabled: the next start's renewal is refused ({e})")
    told = [e for e in events.seen if isinstance(e, g.GuardianEvent.AUTH_REQUIRED)]
    check(len(told) == 1, "the shell is told to show the sign-in (AuthRequired)")
    check(h.officer().officer_id == oid["pcso.baker"], "nothing of the officer's is dropped")
    h.stop_sync()
    admin.set_enabled("guardian", "pcso.baker", True)


def accept_new_kid(backend, what, token):
    """The backend refetches the JWKS on an unknown kid at most once every
    10 s: inside that window a new key's token is 503 key-pending with
    Retry-After (try again, not "never"). Polls until 10 s after the last
    fetch (plus 2 s for slack) and returns the seconds the new key waited."""
    first = time.monotonic()
    deadline = backend.last_fetch + 12
    while True:
        status, slug, body = backend.get("/v1/me/patrols", token)
        if not (status == 503 and slug == "key-pending") or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    refused = time.monotonic() - first
    if refused > 0.1:
        note(f"{what}: 503 key-pending for {refused:.1f} s (the JWKS had been fetched "
             f"{first - backend.last_fetch:.1f} s before)")
    check(status == 200, f"{what}: the running backend accepts the new key's token"
          + ("" if status == 200 else f" (got {status} {body!r:.200})"))
    # The refetch happened before this answer: the next window starts here at the latest.
    backend.last_fetch = time.monotonic()
    return round(refused, 2)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":
    sys.exit(main())
