"""The sync paths a shell leans on beyond the main flow, through the Python
bindings against the real backend: referral routing from the force's
boundary data and the Navigator's status coming back as an event; library
bookmarks following the officer to a second handset; the background
scheduler draining the outbox when signal returns; and TLS to a force whose
certificate only the pinned CA vouches for."""

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time
from urllib.parse import urlparse

import pytest

from conftest import FIXTURES, REPO, Tokens, g, open_handset, signed_in

BIRMINGHAM = (52.4796, -1.9026)  # Victoria Square
COVENTRY = (52.4081, -1.5106)  # the cathedral
LONDON = (51.5074, -0.1278)


def fix_at(lat, lon):
    ms = int(time.time() * 1000)
    return g.Fix(time_ms=ms - 30_000, mono_ns=7_000_000_000, lat=lat, lon=lon, accuracy_m=6.0)


def referral_at(lat, lon, authority_choice=None):
    return g.ReferralForm(
        subject=g.Subject(name="Rae Example", estimated_age=14),
        reasons=[g.ReferralReason.CRIMINAL_EXPLOITATION()],
        narrative="Seen running bags between the flats twice this week; says an older cousin asks.",
        consent=g.Consent.GIVEN(),
        urgency=g.Urgency.ROUTINE,
        location=fix_at(lat, lon),
        authority_choice=authority_choice,
    )


def wait_for(what, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.1)
    return False


def test_referrals_route_by_the_forces_boundaries_and_status_returns_as_an_event(force, tmp_path):
    force.cli("load-boundaries", str(FIXTURES / "boundaries"))
    force.cli("create-navigator", "--id", "nav-bham-1", "--name", "Navigator One", "--authority", "birmingham")
    h, events = signed_in(force, tmp_path / "handset.db")

    # No boundary data yet: the officer is asked to choose, and told why.
    before = h.route_referral(*BIRMINGHAM)
    assert before.authority is None and before.needs_choice

    asyncio.run(h.sync_now())
    assert h.route_referral(*BIRMINGHAM) == g.RoutePreview(authority=g.Authority.BIRMINGHAM, needs_choice=None)
    assert h.route_referral(*COVENTRY).authority == g.Authority.COVENTRY
    outside = h.route_referral(*LONDON)
    assert outside.authority is None and outside.needs_choice

    # Filed in Birmingham without a choice: the boundaries decide.
    draft = h.save_referral_draft(None, referral_at(*BIRMINGHAM))
    receipt = asyncio.run(h.submit_referral(draft))
    assert receipt.authority == g.Authority.BIRMINGHAM
    # Outside all seven with no choice: refused field by field, draft kept.
    far = h.save_referral_draft(None, referral_at(*LONDON))
    with pytest.raises(g.ReferralError.Invalid) as e:
        asyncio.run(h.submit_referral(far))
    assert "authority" in {f.field for f in e.value.fields}
    assert far in [d.id for d in h.referral_drafts()]

    assert asyncio.run(h.sync_now()).acked >= 1
    nav = force.token("nav-bham-1", "navigator")
    force.post(f"/v1/navigator/referrals/{receipt.id}/status", {"status": "assigned"}, nav)
    asyncio.run(h.sync_now())

    changed = events.of(g.GuardianEvent.REFERRAL_STATUS_CHANGED)
    assert [(e.referral_id, e.status) for e in changed] == [(receipt.id, g.ReferralStatus.ASSIGNED)]
    [kept] = h.referral_receipts()
    assert kept.status == g.ReferralStatus.ASSIGNED

    # The same status again is no change, and no event.
    asyncio.run(h.sync_now())
    assert len(events.of(g.GuardianEvent.REFERRAL_STATUS_CHANGED)) == 1


def test_bookmarks_follow_the_officer_to_a_second_handset(force, tmp_path):
    force.cli("publish-library", str(REPO / "library"))
    first, _ = signed_in(force, tmp_path / "first.db")
    asyncio.run(first.sync_now())
    hit = first.library_search("consent", 5).hits[0]
    first.library_open_article(hit.id)
    assert first.library_set_bookmark(hit.id, True)
    asyncio.run(first.sync_now())
    assert first.sync_status().pending == 0

    # A new handset for the same officer: same library, same bookmarks.
    second, _ = signed_in(force, tmp_path / "second.db")
    asyncio.run(second.sync_now())
    assert [b.article_id for b in second.library_bookmarks()] == [hit.id]
    assert second.library_article(hit.id).bookmarked
    assert [r.article_id for r in second.library_recent()] == [hit.id]

    # Unbookmarked on the second; the first hears on its next pull.
    assert second.library_set_bookmark(hit.id, False)  # it changed something
    assert second.library_bookmarks() == []
    asyncio.run(second.sync_now())
    asyncio.run(first.sync_now())
    assert first.library_bookmarks() == []


def test_the_outbox_drains_by_itself_when_signal_returns(force, tmp_path):
    h, events = signed_in(force, tmp_path / "handset.db")
    asyncio.run(h.sync_now())
    h.set_online(False)
    draft = h.save_referral_draft(None, referral_at(*BIRMINGHAM, authority_choice=g.Authority.BIRMINGHAM))
    asyncio.run(h.submit_referral(draft))
    assert h.sync_status().pending == 1

    # Offline, the scheduler leaves the outbox alone.
    time.sleep(2.0)
    assert h.sync_status().pending == 1

    progress_before = len(events.of(g.GuardianEvent.SYNC_PROGRESS))
    h.set_online(True)
    assert wait_for(lambda: h.sync_status().pending == 0), "signal came back but nothing was sent"
    assert wait_for(lambda: len(events.of(g.GuardianEvent.SYNC_PROGRESS)) > progress_before)
    [receipt] = h.referral_receipts()
    assert receipt.status == g.ReferralStatus.RECEIVED
    h.stop_sync()


# --- TLS -------------------------------------------------------------------


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(dir, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=dir)
    return dir / f"{name}.pem", dir / f"{name}.key"


def issue_server_cert(dir, ca_pem, ca_key):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=dir)
    (dir / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", str(ca_pem), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext", cwd=dir)
    return dir / "server.pem", dir / "server.key"


class TlsFront:
    """TLS in front of the plain-HTTP reference backend, as a deployment puts
    a terminating proxy in front of it; each connection is piped through."""

    def __init__(self, upstream_port, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes_failed = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.connection, args=(raw,), daemon=True).start()

    def connection(self, raw):
        raw.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            raw.close()
            return
        tls.settimeout(None)
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self.pipe, args=(upstream, tls), daemon=True).start()
        self.pipe(tls, upstream)

    @staticmethod
    def pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.listener.close()


@pytest.fixture
def tls_force(force, tmp_path):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make the test CA (.ci/run installs it)")
    pki = tmp_path / "pki"
    pki.mkdir()
    ca_pem, ca_key = make_ca(pki, "guardian-test-ca")
    cert, key = issue_server_cert(pki, ca_pem, ca_key)
    other_ca, _ = make_ca(pki, "someone-elses-ca")
    front = TlsFront(urlparse(force.url).port, cert, key)
    yield force, front, ca_pem.read_text(), other_ca.read_text()
    front.close()


def test_sync_over_tls_trusts_the_pinned_ca_and_nothing_else(tls_force, tmp_path):
    force, front, ca, other_ca = tls_force
    url = f"https://localhost:{front.port}"

    h, _ = signed_in(force, tmp_path / "pinned.db", url=url, pinned_ca_pem=ca)
    passed = asyncio.run(h.sync_now())
    assert passed.pulled
    assert h.officer() is not None and h.areas()

    # A certificate the pinned CA did not sign. The handset signed in over
    # the plain loopback link first and queued a referral offline; now it
    # meets the TLS front: no connection, a typed error, nothing lost.
    path = tmp_path / "stranger.db"
    first, _ = signed_in(force, path)
    asyncio.run(first.sync_now())
    first.set_online(False)
    draft = first.save_referral_draft(None, referral_at(*BIRMINGHAM, authority_choice=g.Authority.BIRMINGHAM))
    asyncio.run(first.submit_referral(draft))
    first.stop_sync()
    del first
    stranger, _ = signed_in(force, path, url=url, pinned_ca_pem=other_ca)
    stranger.set_online(False)
    failures = front.handshakes_failed
    with pytest.raises(g.SyncError.Network):
        asyncio.run(stranger.sync_now())
    assert front.handshakes_failed > failures
    assert stranger.sync_status().pending == 1
    [receipt] = stranger.referral_receipts()
    assert receipt.status == g.ReferralStatus.QUEUED

    # A pinned CA that is not a certificate is a configuration error at
    # start, never a silent fall-back to some other trust.
    broken = open_handset(tmp_path / "broken.db", url, pinned_ca_pem="not a certificate")
    with pytest.raises(g.SyncError.Config):
        broken.start_sync(Tokens(force))
