"""The whole patrol flow through the generated Python bindings: the real
library, a real backend on loopback, a real recorded GPS track."""

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from conftest import OFFICER_ID, Events, Tokens, g, load_gpx, open_handset

AREA = "trk-garmin"


class Logs(g.LogSink):
    def __init__(self):
        self.records = []

    def log(self, record):
        self.records.append(record)


def test_a_patrol_syncs_to_the_force_and_is_judged_alike_on_both_sides(force, tmp_path):
    logs = Logs()
    g.set_log_sink(logs, g.LogLevel.INFO)
    events = Events()
    h = open_handset(tmp_path / "handset.db", force.url)
    h.set_event_listener(events)
    tokens = Tokens(force)
    h.start_sync(tokens)

    # Areas and the officer come down from the force.
    first = asyncio.run(h.sync_now())
    assert first.pulled and not first.wiped
    officer = h.officer()
    assert officer == g.Officer(officer_id=OFFICER_ID, display_name="PC Sam Patel", rank=g.Rank.CONSTABLE)
    area = h.area(AREA)
    assert area is not None and area.lpa
    geometry = json.loads(area.geometry_geojson)
    assert geometry["type"] == "MultiPolygon" and geometry["coordinates"][0][0][0]
    assert AREA in [a.id for a in h.areas()]

    # Walk the real track: one OS fix at a time until the core confirms
    # arrival, check in there, the rest in one batch, check out at the end.
    fixes = load_gpx("garmin-activity.gpx")
    assert len(fixes) > 500
    # Before any fix the plan is dense: nobody knows where the officer is.
    plan = h.sampling_plan()
    assert plan.reason == g.PlanReason.NO_FIX_YET and plan.interval_ms == 1000
    assert plan.precision == g.Precision.HIGH and plan.distance_filter_m == 0
    assert plan.overdue_after_ms == 1000 + 30_000 + 1, "the interval, the core's grace, then overdue"
    arrived_at = None
    for i, fix in enumerate(fixes):
        outcome = h.ingest_fix(fix)
        if any(e.kind == g.GeofenceKind.ARRIVED and e.area_id == AREA for e in outcome.events):
            arrived_at = i
            break
    assert arrived_at is not None, "the track never entered its area"
    patrol_id = asyncio.run(h.check_in(AREA, fixes[arrived_at]))
    status = h.patrol_status()
    assert status.patrol_id == patrol_id and status.area_id == AREA and status.in_area_now
    assert status.area_name == area.name
    assert AREA in h.areas_inside()

    batch = asyncio.run(h.ingest_fixes(fixes[arrived_at + 1 :]))
    assert batch.stored == len(fixes) - arrived_at - 1
    assert batch.invalid == []
    assert batch.accepted + sum(r.count for r in batch.rejected) == batch.stored

    # The plan changed as the walk went, and the shell was told each time.
    plans = [e.plan for e in events.of(g.GuardianEvent.PLAN_CHANGED)]
    assert len(plans) > 2
    reasons = {p.reason for p in plans}
    assert g.PlanReason.NEAR_EDGE in reasons and g.PlanReason.STEADY_INSIDE in reasons, reasons
    assert max(p.interval_ms for p in plans) > 1000
    assert h.sampling_plan().interval_ms == plans[-1].interval_ms
    status = h.patrol_status()
    assert status.report == h.patrol_report(patrol_id), "live figures are the stored track's"

    report = asyncio.run(h.check_out(fixes[-1]))
    assert h.patrol_status() is None
    assert report.area_id == AREA and report.rank == g.Rank.CONSTABLE
    assert report.minutes_in_area > 0 and report.distance_m > 0
    assert report.minutes_basis == g.MinutesBasis.INSIDE_AND_EDGE
    assert abs(report.minutes_inside + report.minutes_at_edge - report.minutes_in_area) < 1e-9
    assert report.fixes_total == len(fixes) - arrived_at
    assert report.compliant == (report.reasons == [])
    assert len(report.reason_texts) == len(report.reasons)
    assert h.patrol_report(patrol_id) == report

    # Everything reaches the force, and the force acks it.
    assert h.sync_status().pending > 0
    passed = asyncio.run(h.sync_now())
    assert passed.acked == passed.sent > 0 and passed.rejected == 0
    assert passed.fixes_sent > 0 and passed.track_bytes_sent > 0
    status = h.sync_status()
    assert (status.pending, status.rejected, status.last_error) == (0, 0, None)
    assert status.acked > 0 and status.last_success_ms is not None

    # The force judges the patrol as the handset did.
    mine = h.compliance_summary()
    theirs = force.summary()
    assert mine.patrols == theirs["patrols"] == 1
    assert mine.compliant == theirs["compliant"] == (1 if report.compliant else 0)
    assert abs(mine.average_minutes - theirs["average_minutes"]) < 0.01
    assert abs(mine.average_minutes_at_edge - theirs["average_minutes_at_edge"]) < 0.01
    assert mine.minutes_basis == g.MinutesBasis.INSIDE_AND_EDGE and theirs["minutes_basis"] == "inside_and_edge"
    assert theirs["constable_led_percent"] == 100.0

    # The shell heard about it, after each commit.
    assert any(e.area_id == AREA for e in events.of(g.GuardianEvent.ARRIVED))
    progress = events.of(g.GuardianEvent.SYNC_PROGRESS)
    assert progress and progress[-1].pending == 0
    # And the logs carry messages only.
    mine_logs = [r for r in logs.records if r.target.startswith("guardian_core")]
    assert any(r.message == "checked in" and r.level == g.LogLevel.INFO for r in mine_logs)
    assert not any("PC Sam Patel" in r.message or OFFICER_ID in r.message for r in logs.records)
    g.clear_log_sink()

    # Synced: the officer may sign out; the force can also wipe the handset.
    force.wipe()
    wiped = asyncio.run(h.sync_now())
    assert wiped.wiped
    assert events.of(g.GuardianEvent.WIPED)
    assert h.areas() == [] and h.officer() is None
    h.stop_sync()


def test_todays_assignments_come_down_from_the_force(force, tmp_path):
    today = datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    force.cli("schedule", "--date", today, "--fraction", "1.0", "--seed", "7")
    h = open_handset(tmp_path / "handset.db", force.url)
    h.start_sync(Tokens(force))
    assert asyncio.run(h.sync_now()).pulled
    assignments = h.todays_assignments()
    assert assignments
    known = {a.id for a in h.areas()}
    for a in assignments:
        assert a.officer_id == OFFICER_ID and a.area_id in known and a.end_ms > a.start_ms


def test_the_token_is_refreshed_when_the_force_refuses_it(force, tmp_path):
    h = open_handset(tmp_path / "handset.db", force.url)
    tokens = Tokens(force)
    tokens.current = "not-a-token"
    h.start_sync(tokens)
    assert asyncio.run(h.sync_now()).pulled
    assert tokens.refreshes == 1
    assert h.officer().officer_id == OFFICER_ID
