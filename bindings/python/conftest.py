"""Shared set-up for the foreign-side tests: the generated Python bindings
loaded against the real library, a real reference backend on loopback
(started with the `guardian-backend` binary), and real GPX fixture tracks.

Run `scripts/bindings.sh` first; it builds the library, the backend binary
and the bindings into `$CARGO_TARGET_DIR/bindings` (default `target/`).
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
if not TARGET.is_absolute():
    TARGET = REPO / TARGET
BINDINGS = TARGET / "bindings" / "python"
BACKEND_BIN = Path(os.environ.get("GUARDIAN_BACKEND_BIN", TARGET / "debug" / "guardian-backend"))
FIXTURES = Path(os.environ.get("GUARDIAN_FIXTURES", REPO.parent / "shared" / "fixtures"))
AREAS = REPO / "sim" / "data" / "demo-areas.geojson"
OFFICER_ID = "wm-5120"

if not (BINDINGS / "guardian_ffi.py").exists():
    pytest.exit(f"no generated bindings in {BINDINGS}: run scripts/bindings.sh first", returncode=2)
sys.path.insert(0, str(BINDINGS))

import guardian_ffi as g  # noqa: E402


@dataclass
class Force:
    """The force's reference backend, served from its own process."""

    db: Path
    url: str
    proc: subprocess.Popen

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [str(BACKEND_BIN), *args, "--db", str(self.db)],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def token(self, sub: str = OFFICER_ID, role: str = "officer") -> str:
        return self.cli("token", "--sub", sub, "--role", role)

    def summary(self) -> dict:
        return json.loads(self.cli("export", "--summary"))

    def post(self, path: str, body: dict, token: str) -> dict:
        """POSTs JSON as a client of the force's API would."""
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status in (200, 201)
            return json.loads(r.read() or b"{}")

    def navigator_act(self, navigator: str, referral_id: str, form: dict) -> int:
        """What a Navigator does on the desk: its page's form, posted with
        their token. The desk answers 303 (not followed here)."""

        class Stay(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        req = urllib.request.Request(
            f"{self.url}/navigator/referrals/{referral_id}",
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token(navigator, 'navigator')}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with urllib.request.build_opener(Stay).open(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def wipe(self, officer_id: str = OFFICER_ID) -> None:
        self.post("/v1/admin/commands", {"officer_id": officer_id, "kind": "wipe"}, self.token("ops-admin", "admin"))


def start_force(tmp: Path) -> Force:
    db = tmp / "force.db"

    def cli(*args: str) -> None:
        subprocess.run([str(BACKEND_BIN), *args], check=True, capture_output=True, text=True)

    cli("load-areas", "--db", str(db), str(AREAS))
    cli("create-officer", "--db", str(db), "--id", OFFICER_ID, "--name", "PC Sam Patel", "--rank", "constable")
    proc = subprocess.Popen(
        [str(BACKEND_BIN), "serve", "--db", str(db), "--addr", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    url = None
    while url is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
    if url is None:
        proc.kill()
        raise RuntimeError("the backend did not start")
    return Force(db=db, url=url, proc=proc)


@pytest.fixture
def force(tmp_path):
    f = start_force(tmp_path)
    yield f
    f.proc.terminate()
    try:
        f.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        f.proc.kill()


# Every handset whose background sync a test started is stopped when the test
# ends. Otherwise the sync threads may call a Python listener while the
# interpreter shuts down, and Python ends such a thread with pthread_exit,
# whose forced unwind cannot pass through Rust frames: the process aborts
# ("FATAL: exception not rethrown") after the tests have passed. A phone
# app's process has no such shutdown; the shells stop sync on sign-out.
_started = []
_start_sync = g.Guardian.start_sync


def _start_sync_and_remember(self, tokens):
    _start_sync(self, tokens)
    _started.append(self)


g.Guardian.start_sync = _start_sync_and_remember


@pytest.fixture(autouse=True)
def stop_background_sync():
    yield
    while _started:
        _started.pop().stop_sync()


class Tokens(g.TokenProvider):
    """The shell's login: hands out a token, and a fresh one on refresh."""

    def __init__(self, force: Force):
        self.force = force
        self.current = force.token()
        self.refreshes = 0

    def token(self):
        return self.current

    def refresh(self):
        self.refreshes += 1
        self.current = self.force.token()
        return self.current


class Events(g.EventListener):
    def __init__(self):
        self.seen = []

    def on_event(self, event):
        self.seen.append(event)

    def of(self, cls):
        return [e for e in self.seen if isinstance(e, cls)]


KEY = bytes(range(1, 33))


def open_handset(path: Path, url: str = "http://127.0.0.1:9", key: bytes = KEY, **config):
    return g.Guardian.open(g.GuardianConfig(db_path=str(path), backend_url=url, **config), key)


def signed_in(force: Force, path: Path, **config):
    """A handset on the force (or `url=`), listening for events, its
    background sync started with the force's login."""
    h = open_handset(path, config.pop("url", force.url), **config)
    events = Events()
    h.set_event_listener(events)
    h.start_sync(Tokens(force))
    return h, events


GPX_NS = {"gpx": "http://www.topografix.com/GPX/1/1"}
UERE_M = 5.0
BOOT_NS = 3_600_000_000_000


def load_gpx(name: str) -> list:
    """The track's points as OS fixes, the way the simulator makes them:
    accuracy from HDOP (x5 m) or 10 m, monotonic time from the first point."""
    root = ET.parse(FIXTURES / "tracks" / name).getroot()
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    fixes = []
    first = None
    for pt in root.iter(f"{ns}trkpt"):
        t = pt.find(f"{ns}time")
        if t is None or not t.text:
            continue
        ms = int(datetime.fromisoformat(t.text.strip().replace("Z", "+00:00")).timestamp() * 1000)
        first = ms if first is None else first
        hdop = pt.find(f"{ns}hdop")
        ele = pt.find(f"{ns}ele")
        fixes.append(
            g.Fix(
                time_ms=ms,
                mono_ns=BOOT_NS + (ms - first) * 1_000_000,
                lat=float(pt.get("lat")),
                lon=float(pt.get("lon")),
                accuracy_m=float(hdop.text) * UERE_M if hdop is not None else 10.0,
                altitude_m=float(ele.text) if ele is not None else None,
            )
        )
    return fixes
