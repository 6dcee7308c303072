"""Purged means purged, checked the way someone holding the phone and its
key would: with a stock SQLCipher build (PyPI `sqlcipher3-binary`, SQLCipher
4.12), open the handset's file with every prefix of its write-ahead log and
search every earlier state of the database for the young person's details.
Before the force acknowledges the referral they are there (the method
works); after, no state holds them. That a stock build opens and checks our
files at all also proves the core's own crypto provider writes SQLCipher's
format."""

import asyncio
import shutil
import time

import pytest

from conftest import KEY, g, signed_in

import sqlcipher3  # noqa: E402  (installed by .ci/run)

WAL_HEADER = 32
FRAME = 24 + 4096
NAME = "Jordan Zephyrine"


def form(name):
    ms = int(time.time() * 1000)
    return g.ReferralForm(
        subject=g.Subject(name=name, estimated_age=15, address="14 Tenby Road, Birmingham"),
        reasons=[g.ReferralReason.KNIFE_CARRYING()],
        narrative="Stopped near the Ramp with a blade; calm, wants help with school.",
        consent=g.Consent.GIVEN(),
        urgency=g.Urgency.PRIORITY,
        location=g.Fix(time_ms=ms - 60_000, mono_ns=5_000_000_000, lat=52.4776, lon=-1.8990, accuracy_m=8.0),
        authority_choice=g.Authority.BIRMINGHAM,
    )


def open_stock(path):
    conn = sqlcipher3.connect(str(path))
    conn.execute(f"PRAGMA key = \"x'{KEY.hex()}'\"")
    return conn


def every_state(db, tmp):
    """The database as it was after each prefix of its log: a copy of the
    file with the first k frames of the log, for every k. Yields (k, text of
    every row of every table)."""
    wal = db.with_name(db.name + "-wal")
    log = wal.read_bytes() if wal.exists() else b""
    frames = max(0, (len(log) - WAL_HEADER) // FRAME)
    for k in range(frames + 1):
        state = tmp / f"state-{k}.db"
        shutil.copy(db, state)
        if k:
            (tmp / f"state-{k}.db-wal").write_bytes(log[: WAL_HEADER + k * FRAME])
        conn = open_stock(state)
        text = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            for row in conn.execute(f'SELECT * FROM "{t}"'):
                text.append(repr(row))
        conn.close()
        yield k, "\n".join(text)


def states_holding(db, tmp, secret):
    snap = tmp / "snapshot"
    shutil.rmtree(snap, ignore_errors=True)
    snap.mkdir()
    # A copy taken while the app runs, as an extraction would.
    shutil.copy(db, snap / "h.db")
    wal = db.with_name(db.name + "-wal")
    if wal.exists():
        shutil.copy(wal, snap / "h.db-wal")
    return [k for k, text in every_state(snap / "h.db", snap) if secret in text]


def test_no_earlier_state_of_the_file_holds_an_acknowledged_referral(force, tmp_path):
    db = tmp_path / "handset.db"
    h, _ = signed_in(force, db)
    assert asyncio.run(h.sync_now()).pulled
    h.set_online(False)
    f = form(NAME)
    draft = h.save_referral_draft(None, f)
    for n in range(6):
        f.narrative += f" Edit {n}."
        h.save_referral_draft(draft, f)
    asyncio.run(h.submit_referral(draft))

    before = states_holding(db, tmp_path, NAME)
    assert len(before) >= 3, f"the log holds several states with the name before the ack: {before}"

    h.set_online(True)
    passed = asyncio.run(h.sync_now())
    assert passed.acked >= 1 and h.sync_status().pending == 0
    assert states_holding(db, tmp_path, NAME) == []
    assert states_holding(db, tmp_path, "Tenby Road") == []

    # The stock build reads the file whole and finds nothing wrong with it.
    snap = tmp_path / "snapshot" / "h.db"
    conn = open_stock(snap)
    assert conn.execute("PRAGMA cipher_version").fetchone()[0].startswith("4.12")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("PRAGMA cipher_integrity_check").fetchall() == []
    assert conn.execute("SELECT count(*) FROM referrals WHERE personal IS NULL").fetchone() == (1,)
    conn.close()


def test_a_discarded_draft_and_a_signed_out_officer_leave_no_state_behind(force, tmp_path):
    db = tmp_path / "handset.db"
    h, _ = signed_in(force, db)
    assert asyncio.run(h.sync_now()).pulled
    h.set_online(False)
    gone = h.save_referral_draft(None, form("Rowan Discarded"))
    kept = h.save_referral_draft(None, form("Casey Signedout"))
    assert states_holding(db, tmp_path, "Rowan Discarded")
    h.discard_referral_draft(gone)
    assert states_holding(db, tmp_path, "Rowan Discarded") == []
    assert states_holding(db, tmp_path, "Casey Signedout")
    asyncio.run(h.sign_out(True))
    assert states_holding(db, tmp_path, "Casey Signedout") == []
    assert kept
