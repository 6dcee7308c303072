package guardian.android

import android.Manifest
import android.app.Application
import android.app.NotificationManager
import android.content.Intent
import android.location.Location
import android.location.LocationManager
import android.widget.Button
import android.widget.TextView
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ServiceController
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import uniffi.guardian_ffi.GeofenceKind
import uniffi.guardian_ffi.GuardianEvent
import uniffi.guardian_ffi.patrolStatusText

/**
 * The tracking service against the real core and a real force: check-in
 * starts it, fixes from the OS's LocationManager reach the core, the
 * notification follows the minutes, a killed service comes back to the
 * open patrol, and check-out stops it.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestApp::class)
// One Robolectric sandbox for every class (ScreensTest needs native
// graphics): the generated bindings and the native library are loaded once.
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class PatrolServiceTest {
    private val area = "trk-garmin"
    private lateinit var app: Application
    private lateinit var lm: LocationManager
    private lateinit var provider: String
    private val services = mutableListOf<ServiceController<PatrolService>>()
    private val planEvents = mutableListOf<GuardianEvent.PlanChanged>()

    @Before
    fun signIn() {
        app = freshApp()
        shadowOf(app).grantPermissions(
            Manifest.permission.ACCESS_FINE_LOCATION,
            Manifest.permission.ACCESS_COARSE_LOCATION,
            Manifest.permission.ACCESS_BACKGROUND_LOCATION,
            Manifest.permission.POST_NOTIFICATIONS,
        )
        lm = app.getSystemService(LocationManager::class.java)
        provider = PatrolService.provider(lm)
        shadowOf(lm).setProviderEnabled(provider, true)
        runBlocking { assertNotNull(app.handset.signIn(force.token())) }
        app.handset.subscribe { if (it is GuardianEvent.PlanChanged) planEvents += it }
    }

    @After
    fun close() {
        services.forEach { it.destroy() }
        app.handset.close()
    }

    private fun startService(intent: Intent?): ServiceController<PatrolService> {
        val c = Robolectric.buildService(PatrolService::class.java, intent).create().startCommand(0, services.size + 1)
        services += c
        return c
    }

    /** Hands one fix to the OS's location manager, as the GPS would, and lets the service run. */
    private fun deliver(l: Location) {
        shadowOf(lm).simulateLocation(l)
        settle()
    }

    /** Lets the fix thread and the main thread run what is queued. */
    private fun settle() {
        val fixes = services.last().get().fixLooper
        repeat(2) {
            shadowOf(fixes).idle()
            shadowOf(android.os.Looper.getMainLooper()).idle()
        }
    }

    private fun notificationText(): String? =
        shadowOf(app.getSystemService(NotificationManager::class.java)).getNotification(PatrolService.NOTIFICATION_ID)
            ?.extras?.getCharSequence("android.text")?.toString()

    /**
     * The walk to the area (fixes straight to the core, until its geofence
     * says arrived), then check-in through the patrol screen: the service
     * starts and checks in with the next fix the OS gives it. Returns the
     * service and the rest of the track.
     */
    private fun checkIn(): Pair<ServiceController<PatrolService>, List<Location>> {
        val g = app.handset.guardianOrNull()!!
        val track = gpxLocations("garmin-activity.gpx", provider)
        var i = 0
        while (true) {
            check(i < track.size) { "the track never arrived" }
            val out = g.ingestFix(track[i++].toFix())
            if (out.events.any { it.kind == GeofenceKind.ARRIVED && it.areaId == area }) break
        }
        val screen = Robolectric.buildActivity(PatrolActivity::class.java, Intent(app, PatrolActivity::class.java).putExtra(PatrolActivity.EXTRA_AREA, area))
            .setup().get()
        screen.findViewById<Button>(R.id.check_in).performClick()
        val started = shadowOf(app).nextStartedService
        assertEquals(PatrolService.ACTION_CHECK_IN, started.action)
        val service = startService(started)
        assertNotNull("the service is in the foreground", shadowOf(service.get()).lastForegroundNotification)
        deliver(track[i++])
        waitFor("check-in", 20, service.get().fixLooper) { g.patrolStatus() != null }
        assertEquals(area, g.patrolStatus()!!.areaId)
        return service to track.drop(i)
    }

    @Test
    fun `check-in starts the tracking service and check-out stops it`() {
        val (service, rest) = checkIn()
        val g = app.handset.guardianOrNull()!!
        rest.take(30).forEach(::deliver)

        val screen = Robolectric.buildActivity(PatrolActivity::class.java, Intent(app, PatrolActivity::class.java).putExtra(PatrolActivity.EXTRA_AREA, area))
            .setup().get()
        screen.findViewById<Button>(R.id.check_out).performClick()
        val stop = shadowOf(app).nextStartedService
        assertEquals(PatrolService.ACTION_CHECK_OUT, stop.action)
        service.withIntent(stop).startCommand(0, 99)
        waitFor("check-out", 20, service.get().fixLooper) { g.patrolStatus() == null }
        val s = shadowOf(service.get())
        waitFor("the service to stop") { s.isStoppedBySelf }
        assertTrue(s.isForegroundStopped)
        assertTrue(shadowOf(lm).getLocationUpdateListeners().isEmpty())
        // The screen shows the core's verdict on the patrol.
        waitFor("the verdict on screen") { screen.findViewById<TextView>(R.id.message).text.startsWith("Checked out") }
    }

    @Test
    fun `fixes from the LocationManager reach the core and change minutes in area`() {
        val (service, rest) = checkIn()
        val g = app.handset.guardianOrNull()!!
        val before = g.patrolStatus()!!
        rest.take(rest.size / 2).forEach(::deliver)
        val after = g.patrolStatus()!!
        assertEquals(before.patrolId, after.patrolId)
        assertTrue("minutes grew: ${before.minutesInArea} -> ${after.minutesInArea}", after.minutesInArea > before.minutesInArea + 1.0)
        assertTrue(after.report.fixesAccepted > before.report.fixesAccepted)
        // The notification shows the core's words for the same figures.
        assertEquals(patrolStatusText(after).headline, notificationText())
        // The service asks the OS for what the core's plan says: it changed as the walk went on.
        val plans = planEvents.map { it.plan }
        assertTrue("the plan changed more than once: $plans", plans.size > 1)
        assertTrue(plans.any { it.intervalMs > 1000L })
        val plan = plans.last()
        assertEquals(plan, service.get().following)
        val asked = shadowOf(lm).getLocationRequests(provider).last()
        assertEquals(plan.intervalMs, asked.intervalMillis)
    }

    @Test
    fun `when the asked-for fix is overdue the service asks the core again and follows its dense plan`() {
        val (service, rest) = checkIn()
        // Walk on until the core asks for sparse fixes with no distance filter (steady inside).
        val sparse = rest.asSequence().map { deliver(it); service.get().following }
            .firstOrNull { it != null && it.intervalMs > 1000L && it.overdueAfterMs != null }
        assertNotNull("the walk reached a sparse plan that expects fixes", sparse)
        val asked = shadowOf(lm).getLocationRequests(provider).last()
        assertEquals(sparse!!.intervalMs, asked.intervalMillis)

        // The GPS goes quiet. Just before the plan's overdue time nothing is asked…
        val main = shadowOf(android.os.Looper.getMainLooper())
        main.idleFor(java.time.Duration.ofMillis(sparse.overdueAfterMs!! - 1))
        assertEquals(sparse, service.get().following)
        // …at it the service asks the core, whose answer is dense, and the OS is asked for that.
        main.idleFor(java.time.Duration.ofMillis(1))
        val now = service.get().following!!
        assertEquals(uniffi.guardian_ffi.PlanReason.AFTER_GAP, now.reason)
        assertEquals(1000L, now.intervalMs)
        assertEquals(1000L, shadowOf(lm).getLocationRequests(provider).last().intervalMillis)
    }

    @Test
    fun `a killed and recreated service resumes the open patrol`() {
        val (service, rest) = checkIn()
        val g0 = app.handset.guardianOrNull()!!
        val patrol = g0.patrolStatus()!!.patrolId
        rest.take(20).forEach(::deliver)
        val minutes = g0.patrolStatus()!!.minutesInArea

        // The process dies: the service is gone and the core is closed; only the files remain.
        service.destroy()
        services.remove(service)
        app.handset.close()
        assertTrue(shadowOf(lm).getLocationUpdateListeners().isEmpty())

        // START_STICKY: the OS starts the service again with no intent.
        val again = startService(null)
        assertNotNull(shadowOf(again.get()).lastForegroundNotification)
        val g = app.handset.guardianOrNull()!!
        assertEquals(patrol, g.patrolStatus()!!.patrolId)
        rest.drop(20).take(200).forEach(::deliver)
        val now = g.patrolStatus()!!
        assertEquals(patrol, now.patrolId)
        assertTrue("minutes go on counting: $minutes -> ${now.minutesInArea}", now.minutesInArea > minutes)
    }

    @Test
    fun `with no open patrol a restarted service stops at once`() {
        val service = startService(null)
        assertTrue(shadowOf(service.get()).isStoppedBySelf)
        assertNull(app.handset.guardianOrNull()!!.patrolStatus())
    }
}
