package guardian.android

import android.Manifest
import android.app.Notification
import android.app.NotificationManager
import android.app.PendingIntent
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.content.pm.ServiceInfo
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.location.LocationRequest
import android.os.Handler
import android.os.HandlerThread
import android.os.IBinder
import android.os.Looper
import android.util.Log
import java.util.concurrent.Executor
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import uniffi.guardian_ffi.Fix
import uniffi.guardian_ffi.Guardian
import uniffi.guardian_ffi.GuardianEvent
import uniffi.guardian_ffi.PatrolException
import uniffi.guardian_ffi.Precision
import uniffi.guardian_ffi.SamplingPlan
import uniffi.guardian_ffi.patrolStatusText

/**
 * The patrol's foreground service (type `location`). It asks the OS for
 * fixes at the rate and accuracy of the core's [SamplingPlan] (and asks
 * again whenever the core sends `PlanChanged`, or when no fix has come for
 * the plan's `overdueAfterMs`), hands every fix to the
 * core, and keeps a notification with the area and minutes in area.
 *
 * Check-in and check-out go through here, with a fresh fix from the same
 * stream. The service holds nothing the core does not: after the process is
 * killed, START_STICKY brings it back and it resumes whatever patrol the
 * core has open; with none open it stops.
 */
class PatrolService : Service() {
    private val main = Handler(Looper.getMainLooper())
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Main)
    private lateinit var fixThread: HandlerThread
    private lateinit var fixes: Handler
    private var guardian: Guardian? = null
    private var subscription: AutoCloseable? = null
    private var requested: SamplingPlan? = null
    private var destroyed = false

    /** The plan the OS was last asked for (null when not tracking). */
    val following: SamplingPlan? get() = requested

    /** The thread fixes are handed to the core on. */
    val fixLooper: Looper get() = fixThread.looper
    private var pendingCheckIn: String? = null
    private var pendingCheckOut = false
    private var busy = false
    private var shownHeadline: String? = null

    /** The last fix the core accepted (for check-out); touched on the fix thread. */
    @Volatile private var lastFix: Fix? = null

    private val listener = LocationListener { location -> onLocation(location) }

    /** No fix for as long as the plan allows: the core is asked again (its answer is then dense). */
    private val overdueCheck = Runnable {
        if (destroyed) return@Runnable
        val g = guardian ?: return@Runnable
        follow(g.samplingPlan())
        armOverdue()
    }

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onCreate() {
        super.onCreate()
        fixThread = HandlerThread("guardian-fixes").apply { start() }
        fixes = Handler(fixThread.looper)
    }

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        // Foreground first, whatever follows: Android gives a started FGS a few seconds.
        if (!goForeground(getString(R.string.notification_starting), getString(R.string.patrol_finding_location))) {
            finish()
            return START_NOT_STICKY
        }
        val g = handset.guardianOrNull()
        if (g == null) {
            finish()
            return START_NOT_STICKY
        }
        guardian = g
        when (intent?.action) {
            ACTION_CHECK_IN -> pendingCheckIn = intent.getStringExtra(EXTRA_AREA)
            ACTION_CHECK_OUT -> pendingCheckOut = true
            // null: restarted by the OS after a kill (START_STICKY), or resumed by the app.
        }
        if (g.patrolStatus() == null && pendingCheckIn == null) {
            Log.i(Handset.TAG, "no open patrol: tracking stops")
            finish()
            return START_NOT_STICKY
        }
        if (!hasLocationPermission()) {
            // Android 12 and 13 let the service start without it; nothing would be heard.
            handset.announce(getString(R.string.permission_location_why))
            finish()
            return START_NOT_STICKY
        }
        if (subscription == null) subscription = handset.subscribe(::onEvent)
        follow(g.samplingPlan())
        refreshNotification()
        lastFix?.let { fixes.post { tryPending(it) } }
        return START_STICKY
    }

    private fun onEvent(event: GuardianEvent) {
        when (event) {
            is GuardianEvent.PlanChanged -> follow(event.plan)
            is GuardianEvent.Arrived, is GuardianEvent.Departed, is GuardianEvent.MinutesReached -> refreshNotification()
            is GuardianEvent.Wiped -> finish()
            else -> Unit
        }
    }

    /** Asks the OS for fixes as the core's plan says (only when it changed). */
    private fun follow(plan: SamplingPlan) {
        if (destroyed || plan == requested || !hasLocationPermission()) return
        val lm = getSystemService(LocationManager::class.java)
        lm.removeUpdates(listener)
        val request = LocationRequest.Builder(plan.intervalMs)
            .setQuality(if (plan.precision == Precision.HIGH) LocationRequest.QUALITY_HIGH_ACCURACY else LocationRequest.QUALITY_BALANCED_POWER_ACCURACY)
            .setMinUpdateDistanceMeters(plan.distanceFilterM.toFloat())
            .build()
        try {
            lm.requestLocationUpdates(provider(lm), request, Executor { fixes.post(it) }, listener)
            requested = plan
            armOverdue()
        } catch (e: SecurityException) {
            handset.announce(getString(R.string.permission_location_why))
        }
    }

    /** On the fix thread: the fix goes to the core before anything else. */
    private fun onLocation(location: Location) {
        val g = guardian ?: return
        val fix = location.toFix()
        try {
            val outcome = g.ingestFix(fix)
            if (outcome.accepted) lastFix = fix
        } catch (e: PatrolException) {
            Log.w(Handset.TAG, "fix refused: ${e.javaClass.simpleName}")
            return
        }
        tryPending(fix)
        main.post {
            armOverdue()
            refreshNotification()
        }
    }

    /** On the main thread: the core's plan says when its next fix is overdue (never, under a distance filter). */
    private fun armOverdue() {
        main.removeCallbacks(overdueCheck)
        if (destroyed) return
        val after = requested?.overdueAfterMs ?: return
        main.postDelayed(overdueCheck, after)
    }

    /** A check-in or check-out waiting for a fix: done with this one. */
    private fun tryPending(fix: Fix) = main.post {
        val g = guardian ?: return@post
        if (busy) return@post
        val area = pendingCheckIn
        if (area != null) {
            busy = true
            scope.launch {
                try {
                    g.checkIn(area, fix)
                    pendingCheckIn = null
                    handset.announce(null)
                } catch (e: PatrolException.PoorFix) {
                    // Wait for a better fix: the next one tries again.
                } catch (e: PatrolException) {
                    pendingCheckIn = null
                    handset.announce(e.message)
                    if (g.patrolStatus() == null) finish()
                }
                busy = false
                refreshNotification()
            }
        } else if (pendingCheckOut) {
            busy = true
            scope.launch {
                try {
                    val report = g.checkOut(fix)
                    handset.announce(getString(if (report.compliant) R.string.patrol_report_compliant else R.string.patrol_report_not_compliant))
                } catch (e: PatrolException.PoorFix) {
                    busy = false
                    return@launch
                } catch (e: PatrolException) {
                    handset.announce(e.message)
                }
                pendingCheckOut = false
                busy = false
                if (g.patrolStatus() == null) finish()
            }
        }
    }

    private fun refreshNotification() {
        val g = guardian ?: return
        val status = try {
            g.patrolStatus()
        } catch (e: PatrolException) {
            null
        }
        if (status == null) return
        val text = patrolStatusText(status)
        if (text.headline == shownHeadline) return
        shownHeadline = text.headline
        getSystemService(NotificationManager::class.java).notify(NOTIFICATION_ID, notification(status.areaName, text.headline))
    }

    /**
     * False when Android refuses: a location FGS needs the location
     * permission (Android 14+), and some background starts are not allowed.
     */
    private fun goForeground(title: String, text: String): Boolean = try {
        startForeground(NOTIFICATION_ID, notification(title, text), ServiceInfo.FOREGROUND_SERVICE_TYPE_LOCATION)
        true
    } catch (e: SecurityException) {
        handset.announce(getString(R.string.permission_location_why))
        false
    } catch (e: IllegalStateException) {
        // ForegroundServiceStartNotAllowedException: the next time the app is opened resumes tracking.
        Log.w(Handset.TAG, "tracking could not start: ${e.javaClass.simpleName}")
        false
    }

    private fun notification(title: String, text: String): Notification {
        val open = PendingIntent.getActivity(
            this, 0, Intent(this, PatrolActivity::class.java),
            PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
        )
        return Notification.Builder(this, CHANNEL)
            .setSmallIcon(R.drawable.ic_guardian)
            .setContentTitle(title)
            .setContentText(text)
            .setContentIntent(open)
            .setOngoing(true)
            .setOnlyAlertOnce(true)
            .setCategory(Notification.CATEGORY_SERVICE)
            .build()
    }

    private fun hasLocationPermission() =
        checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) == PackageManager.PERMISSION_GRANTED

    private fun finish() {
        getSystemService(LocationManager::class.java).removeUpdates(listener)
        requested = null
        main.removeCallbacks(overdueCheck)
        stopForeground(STOP_FOREGROUND_REMOVE)
        stopSelf()
    }

    override fun onDestroy() {
        getSystemService(LocationManager::class.java).removeUpdates(listener)
        // Fixes still queued on the fix thread and posts already made must
        // neither re-arm the overdue check nor ask the OS for fixes again.
        destroyed = true
        requested = null
        main.removeCallbacks(overdueCheck)
        subscription?.close()
        scope.cancel()
        fixThread.quitSafely()
        super.onDestroy()
    }

    companion object {
        const val CHANNEL = "patrol"
        const val NOTIFICATION_ID = 1
        const val ACTION_CHECK_IN = "guardian.android.CHECK_IN"
        const val ACTION_CHECK_OUT = "guardian.android.CHECK_OUT"
        const val EXTRA_AREA = "area_id"

        /** The fused provider where the OS has one (API 31+ with Play-free fusion), GPS otherwise. */
        fun provider(lm: LocationManager): String =
            if (lm.hasProvider(LocationManager.FUSED_PROVIDER)) LocationManager.FUSED_PROVIDER else LocationManager.GPS_PROVIDER

        fun checkIn(context: Context, areaId: String) {
            context.startForegroundService(Intent(context, PatrolService::class.java).setAction(ACTION_CHECK_IN).putExtra(EXTRA_AREA, areaId))
        }

        fun checkOut(context: Context) {
            context.startForegroundService(Intent(context, PatrolService::class.java).setAction(ACTION_CHECK_OUT))
        }

        /** At app start: tracking resumes if the core has a patrol open. */
        fun resumeIfOpen(context: Context, g: Guardian) {
            if (g.patrolStatus() != null) context.startForegroundService(Intent(context, PatrolService::class.java))
        }
    }
}

/** The OS fix as the core takes it: wall time, and the monotonic clock for durations. */
fun Location.toFix(): Fix = Fix(
    timeMs = time,
    monoNs = elapsedRealtimeNanos,
    lat = latitude,
    lon = longitude,
    accuracyM = if (hasAccuracy()) accuracy.toDouble() else 9999.0,
    altitudeM = if (hasAltitude()) altitude else null,
    speedMps = if (hasSpeed()) speed.toDouble() else null,
    bearingDeg = if (hasBearing()) bearing.toDouble() else null,
)
