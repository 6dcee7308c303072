"""Every error case reaches Python as a typed exception with a message an
officer can read, and changes nothing."""

import asyncio
import math

import pytest

from conftest import KEY, AREAS, Events, g, load_gpx, open_handset

AREA = "trk-garmin"


def local_handset(tmp_path, name="handset.db"):
    """A handset with the areas and an officer but no force behind it."""
    h = open_handset(tmp_path / name)
    assert h.import_areas_geojson(AREAS.read_text()) > 0
    h.set_officer(g.Officer(officer_id="wm-0001", display_name="PC Test", rank=g.Rank.CONSTABLE))
    return h


def test_a_wrong_key_is_refused_and_leaves_the_file_alone(tmp_path):
    path = tmp_path / "handset.db"
    h = open_handset(path)
    h.import_areas_geojson(AREAS.read_text())
    del h
    before = path.read_bytes()
    with pytest.raises(g.StoreError.WrongKey) as e:
        open_handset(path, key=bytes(range(2, 34)))
    assert "key" in str(e.value)
    assert path.read_bytes() == before
    assert open_handset(path).area(AREA) is not None


def test_a_damaged_file_is_not_a_wrong_key_and_is_recovered(tmp_path):
    path = tmp_path / "handset.db"
    h = local_handset(tmp_path)
    draft = h.save_referral_draft(None, g.ReferralForm(subject=g.Subject(name="Kim Kept"), reasons=[], narrative=""))
    del h
    damaged = bytearray(path.read_bytes())
    for i in range(100, 164):
        damaged[i] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(g.StoreError.Corrupt) as e:
        open_handset(path)
    assert "damaged" in str(e.value)
    with pytest.raises(g.StoreError.WrongKey):
        open_handset(path, key=bytes(range(2, 34)))
    with pytest.raises(g.StoreError.WrongKey):
        g.recover_store(g.GuardianConfig(db_path=str(path), backend_url="http://127.0.0.1:9"), bytes(range(2, 34)))
    assert path.read_bytes() == bytes(damaged), "a wrong key moves nothing"

    report = g.recover_store(g.GuardianConfig(db_path=str(path), backend_url="http://127.0.0.1:9"), KEY)
    # Page 1 holds the schema: nothing could be read, and the report says so.
    assert report.unsent_records == 0 and report.drafts == 0
    assert "referral_drafts" in report.damaged_tables
    assert (tmp_path / report.damaged_copy.split("/")[-1]).read_bytes() == bytes(damaged)
    h = open_handset(path)
    assert h.referral_drafts() == [] and draft


def test_a_key_that_is_not_32_bytes_is_refused(tmp_path):
    with pytest.raises(g.StoreError.BadKey) as e:
        open_handset(tmp_path / "h.db", key=b"short")
    assert "32 bytes" in str(e.value)
    with pytest.raises(g.StoreError.BadKey):
        open_handset(tmp_path / "h.db", key=bytes(32))


def test_checking_out_with_no_patrol_is_an_illegal_transition(tmp_path):
    h = local_handset(tmp_path)
    fix = load_gpx("garmin-activity.gpx")[0]
    with pytest.raises(g.PatrolError.NoActivePatrol) as e:
        asyncio.run(h.check_out(fix))
    assert str(e.value) == "not checked in to any patrol"
    assert h.patrol_status() is None


def test_checking_in_twice_unknown_areas_and_no_officer_are_refused(tmp_path):
    fixes = load_gpx("garmin-activity.gpx")
    h = open_handset(tmp_path / "bare.db")
    h.import_areas_geojson(AREAS.read_text())
    with pytest.raises(g.PatrolError.NoOfficer):
        asyncio.run(h.check_in(AREA, fixes[0]))

    h = local_handset(tmp_path)
    with pytest.raises(g.PatrolError.UnknownArea):
        asyncio.run(h.check_in("nowhere", fixes[0]))
    with pytest.raises(g.PatrolError.TooFarFromArea) as e:
        asyncio.run(h.check_in("bham-stephenson-st", fixes[0]))
    assert "m from area" in str(e.value)
    inside = next(i for i, f in enumerate(fixes) if h.ingest_fix(f).events)
    patrol = asyncio.run(h.check_in(AREA, fixes[inside]))
    with pytest.raises(g.PatrolError.AlreadyOnPatrol) as e:
        asyncio.run(h.check_in(AREA, fixes[inside + 1]))
    assert patrol in str(e.value)


def test_an_impossible_fix_is_refused_and_not_stored(tmp_path):
    h = local_handset(tmp_path)
    good = load_gpx("garmin-activity.gpx")[:3]
    nan = g.Fix(time_ms=good[0].time_ms, mono_ns=1, lat=math.nan, lon=-1.9, accuracy_m=5.0)
    with pytest.raises(g.PatrolError.InvalidFix) as e:
        h.ingest_fix(nan)
    assert "latitude is not a number" in str(e.value)
    with pytest.raises(g.PatrolError.InvalidFix):
        h.ingest_fix(g.Fix(time_ms=good[0].time_ms, mono_ns=1, lat=91.0, lon=0.0, accuracy_m=5.0))
    with pytest.raises(g.PatrolError.InvalidFix):
        asyncio.run(h.check_in(AREA, nan))

    out = asyncio.run(h.ingest_fixes([good[0], nan, good[1], good[2]]))
    assert out.stored == 3
    assert [(i.index, "not a number" in i.message) for i in out.invalid] == [(1, True)]


def test_sign_out_is_refused_while_anything_is_unsynced(tmp_path):
    h = local_handset(tmp_path)
    fixes = load_gpx("garmin-activity.gpx")
    inside = next(i for i, f in enumerate(fixes) if h.ingest_fix(f).events)
    asyncio.run(h.check_in(AREA, fixes[inside]))
    with pytest.raises(g.SyncError.PatrolOpen):
        asyncio.run(h.sign_out(False))
    asyncio.run(h.check_out(fixes[inside + 60]))
    with pytest.raises(g.SyncError.Unsynced) as e:
        asyncio.run(h.sign_out(False))
    assert "sync before signing out" in str(e.value)
    assert h.officer() is not None

    discarded = asyncio.run(h.sign_out(True))
    assert discarded >= 2
    assert h.officer() is None


def test_sync_calls_before_sync_starts_are_refused(tmp_path):
    h = local_handset(tmp_path)
    with pytest.raises(g.SyncError.NotStarted):
        asyncio.run(h.sync_now())
    with pytest.raises(g.SyncError.NotStarted):
        h.set_online(True)
    assert h.sync_status().running is False


def test_a_login_failure_reaches_the_shell_as_an_auth_error(force, tmp_path):
    class NoLogin(g.TokenProvider):
        def token(self):
            raise g.AuthError.Failed("the officer is not signed in")

        def refresh(self):
            raise g.AuthError.Failed("the officer is not signed in")

    h = open_handset(tmp_path / "h.db", force.url)
    events = Events()
    h.set_event_listener(events)
    h.start_sync(NoLogin())
    with pytest.raises(g.SyncError.Auth) as e:
        asyncio.run(h.sync_now())
    assert "not signed in" in str(e.value)
    assert events.of(g.GuardianEvent.SYNC_FAILED)
    assert h.sync_status().last_error


def test_a_listener_that_throws_does_not_break_the_core(tmp_path):
    class Broken(g.EventListener):
        def on_event(self, event):
            raise RuntimeError("shell bug")

    h = local_handset(tmp_path)
    h.set_event_listener(Broken())
    fixes = load_gpx("garmin-activity.gpx")
    # The arrival is told to the broken listener; the fix is stored all the same.
    arrived = next(i for i, f in enumerate(fixes) if h.ingest_fix(f).events)
    asyncio.run(h.check_in(AREA, fixes[arrived]))
    assert h.patrol_status().in_area_now


def test_a_panic_in_rust_reaches_python_as_an_error_not_a_crash(tmp_path):
    class Logs(g.LogSink):
        def __init__(self):
            self.records = []

        def log(self, record):
            self.records.append(record)

    logs = Logs()
    g.set_log_sink(logs, g.LogLevel.WARN)
    with pytest.raises(g.InternalError) as e:
        g.debug_panic("deliberate")
    assert "deliberate" in str(e.value)
    # In an async call, from the core runtime's blocking pool, too.
    h = local_handset(tmp_path)
    with pytest.raises(g.InternalError) as e:
        asyncio.run(h.debug_panic_async("deliberate too"))
    assert "deliberate too" in str(e.value)
    g.clear_log_sink()
    # The panic is logged by its place only, never its message.
    panics = [r for r in logs.records if r.target == "guardian_ffi::panic"]
    assert len(panics) == 2 and all(r.message.startswith("panic at ") for r in panics)
    assert not any("deliberate" in r.message for r in logs.records)
    # The handset and the library are still usable afterwards.
    assert h.area(AREA) is not None
    assert g.core_version()
