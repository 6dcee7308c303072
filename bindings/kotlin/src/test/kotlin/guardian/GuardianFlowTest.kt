package guardian

import kotlin.math.abs
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import uniffi.guardian_ffi.GeofenceKind
import uniffi.guardian_ffi.GuardianEvent
import uniffi.guardian_ffi.LogLevel
import uniffi.guardian_ffi.LogRecord
import uniffi.guardian_ffi.LogSink
import uniffi.guardian_ffi.MinutesBasis
import uniffi.guardian_ffi.Officer
import uniffi.guardian_ffi.PlanReason
import uniffi.guardian_ffi.Precision
import uniffi.guardian_ffi.Rank
import uniffi.guardian_ffi.clearLogSink
import uniffi.guardian_ffi.setLogSink

/** The whole patrol flow in Kotlin, the way the Android shell drives it. */
class GuardianFlowTest {
    private val area = "trk-garmin"

    @Test
    fun `a patrol syncs to the force and is judged alike on both sides`() {
        val dir = tempDir()
        Force.start(dir).use { force ->
            val logs = java.util.concurrent.CopyOnWriteArrayList<LogRecord>()
            setLogSink(object : LogSink {
                override fun log(record: LogRecord) {
                    logs.add(record)
                }
            }, LogLevel.INFO)
            val events = Events()
            openHandset(dir.resolve("handset.db"), force.url).use { h ->
                h.setEventListener(events)
                h.startSync(Tokens(force))

                runBlocking {
                    // Areas and the officer come down from the force.
                    val first = h.syncNow()
                    assertTrue(first.pulled)
                    assertEquals(Officer(OFFICER_ID, "PC Sam Patel", Rank.CONSTABLE), h.officer())
                    val info = h.area(area)!!
                    assertTrue(info.geometryGeojson.startsWith("{") && info.geometryGeojson.contains("MultiPolygon"))

                    // The real track: fix by fix until arrival, check in, the rest as a batch.
                    val fixes = loadGpx("garmin-activity.gpx")
                    assertTrue(fixes.size > 500)
                    // No fix yet: the plan is dense, at full precision.
                    val firstPlan = h.samplingPlan()
                    assertEquals(PlanReason.NO_FIX_YET, firstPlan.reason)
                    assertEquals(1000L, firstPlan.intervalMs)
                    assertEquals(Precision.HIGH, firstPlan.precision)
                    assertEquals(31_001L, firstPlan.overdueAfterMs)
                    var arrivedAt = -1
                    for ((i, fix) in fixes.withIndex()) {
                        val out = h.ingestFix(fix)
                        if (out.events.any { it.kind == GeofenceKind.ARRIVED && it.areaId == area }) {
                            arrivedAt = i
                            break
                        }
                    }
                    assertTrue(arrivedAt >= 0, "the track never entered its area")
                    val patrolId = h.checkIn(area, fixes[arrivedAt])
                    val status = h.patrolStatus()!!
                    assertEquals(patrolId, status.patrolId)
                    assertTrue(status.inAreaNow)

                    val batch = h.ingestFixes(fixes.subList(arrivedAt + 1, fixes.size))
                    assertEquals((fixes.size - arrivedAt - 1).toUInt(), batch.stored)
                    assertTrue(batch.invalid.isEmpty())

                    // The plan followed the walk, and every change was told.
                    val plans = events.seen.filterIsInstance<GuardianEvent.PlanChanged>().map { it.plan }
                    assertTrue(plans.size > 2)
                    assertTrue(plans.any { it.reason == PlanReason.STEADY_INSIDE && it.intervalMs > 1000L })
                    assertEquals(plans.last().intervalMs, h.samplingPlan().intervalMs)
                    assertEquals(h.patrolReport(patrolId), h.patrolStatus()!!.report)

                    val report = h.checkOut(fixes.last())
                    assertNull(h.patrolStatus())
                    assertEquals(MinutesBasis.INSIDE_AND_EDGE, report.minutesBasis)
                    assertTrue(abs(report.minutesInside + report.minutesAtEdge - report.minutesInArea) < 1e-9)
                    assertEquals(area, report.areaId)
                    assertEquals(Rank.CONSTABLE, report.rank)
                    assertTrue(report.minutesInArea > 0.0)
                    assertEquals((fixes.size - arrivedAt).toUInt(), report.fixesTotal)
                    assertEquals(report.compliant, report.reasons.isEmpty())

                    // Everything reaches the force and is acked.
                    val pass = h.syncNow()
                    assertEquals(pass.sent, pass.acked)
                    assertTrue(pass.acked > 0u && pass.rejected == 0u)
                    val sync = h.syncStatus()
                    assertEquals(0u, sync.pending)
                    assertEquals(0u, sync.rejected)
                    assertNull(sync.lastError)

                    // Both sides judge the patrol alike.
                    val mine = h.complianceSummary()
                    val theirs = force.summary()
                    assertEquals(1.0, theirs["patrols"])
                    assertEquals(mine.patrols.toDouble(), theirs["patrols"])
                    assertEquals(mine.compliant.toDouble(), theirs["compliant"])
                    assertTrue(abs(mine.averageMinutes - theirs["average_minutes"]!!) < 0.01)

                    // The force wipes the handset.
                    force.wipe()
                    assertTrue(h.syncNow().wiped)
                    assertTrue(h.areas().isEmpty())
                    assertNull(h.officer())
                }
                h.stopSync()
            }
            clearLogSink()
            assertTrue(events.seen.any { it is GuardianEvent.Arrived && it.areaId == area })
            assertTrue(events.seen.any { it is GuardianEvent.SyncProgress })
            assertTrue(events.seen.any { it is GuardianEvent.Wiped })
            assertTrue(logs.any { it.target.startsWith("guardian_core") && it.message == "checked in" })
            assertFalse(logs.any { it.message.contains("Sam Patel") || it.message.contains(OFFICER_ID) })
        }
    }

    @Test
    fun `a refused token is refreshed from the shell`() {
        val dir = tempDir()
        Force.start(dir).use { force ->
            openHandset(dir.resolve("handset.db"), force.url).use { h ->
                val tokens = Tokens(force).apply { current = "not-a-token" }
                h.startSync(tokens)
                assertTrue(runBlocking { h.syncNow() }.pulled)
                assertEquals(1, tokens.refreshes)
                assertEquals(OFFICER_ID, h.officer()?.officerId)
            }
        }
    }
}
