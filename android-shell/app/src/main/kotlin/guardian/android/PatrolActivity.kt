package guardian.android

import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Bundle
import android.provider.Settings
import android.view.View
import android.widget.Button
import android.widget.TextView
import uniffi.guardian_ffi.SyncException
import uniffi.guardian_ffi.patrolStatusText

/**
 * The patrol screen: check in and out, minutes in area, what is still
 * missing for compliance (the core's reasons, in its words), online or
 * not, and how much is not yet sent. Check-in asks for location first;
 * refused, it says why and offers Settings.
 */
class PatrolActivity : Screen() {
    private lateinit var areaId: String
    private var notices: AutoCloseable? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_patrol)
        val g = guardian() ?: return
        areaId = intent.getStringExtra(EXTRA_AREA) ?: g.patrolStatus()?.areaId ?: run {
            finish()
            return
        }
        findViewById<Button>(R.id.check_in).setOnClickListener { checkIn() }
        findViewById<Button>(R.id.check_out).setOnClickListener {
            showMessage(getString(R.string.patrol_checking_out))
            PatrolService.checkOut(this)
        }
        findViewById<Button>(R.id.open_settings).setOnClickListener {
            startActivity(Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", packageName, null)))
        }
    }

    override fun onResume() {
        super.onResume()
        notices = handset.onNotice { showMessage(it) }
        showMessage(handset.notice)
    }

    override fun onPause() {
        notices?.close()
        super.onPause()
    }

    private fun showMessage(text: String?) {
        findViewById<TextView>(R.id.message).text = text ?: ""
    }

    override fun refresh() {
        val g = guardian() ?: return
        val status = g.patrolStatus()
        val mine = status != null && status.areaId == areaId
        findViewById<TextView>(R.id.area).text = status?.areaName ?: g.area(areaId)?.name ?: areaId
        findViewById<TextView>(R.id.window).text = intent.getStringExtra(EXTRA_WINDOW) ?: ""
        val presence = findViewById<TextView>(R.id.presence)
        val minutes = findViewById<TextView>(R.id.minutes)
        val needed = findViewById<TextView>(R.id.still_needed)
        val missing = findViewById<TextView>(R.id.missing)
        if (status == null || !mine) {
            presence.text = if (status != null) getString(R.string.patrol_open_elsewhere, status.areaName) else getString(R.string.patrol_not_open)
            minutes.text = ""
            needed.text = ""
            missing.text = ""
        } else {
            val text = patrolStatusText(status)
            presence.setText(if (status.inAreaNow) R.string.patrol_in_area else R.string.patrol_outside)
            minutes.text = text.minutesInArea
            needed.text = text.stillNeeded ?: ""
            missing.text = if (status.report.reasonTexts.isEmpty()) {
                getString(R.string.patrol_compliant_so_far)
            } else {
                getString(R.string.patrol_still_missing) + "\n" + status.report.reasonTexts.joinToString("\n") { "• $it" }
            }
        }
        findViewById<Button>(R.id.check_in).visibility = if (status == null) View.VISIBLE else View.GONE
        findViewById<Button>(R.id.check_out).visibility = if (mine) View.VISIBLE else View.GONE
        try {
            val sync = g.syncStatus()
            findViewById<TextView>(R.id.online).apply {
                setText(if (sync.online) R.string.status_online else R.string.status_offline)
                setTextColor(getColor(if (sync.online) R.color.ok else R.color.offline))
            }
            var unsent = getString(R.string.status_unsynced, sync.pending.toInt())
            if (sync.rejected > 0u) unsent += "\n" + getString(R.string.status_rejected, sync.rejected.toInt())
            findViewById<TextView>(R.id.unsynced).text = unsent
        } catch (e: SyncException) {
            findViewById<TextView>(R.id.online).text = e.message
        }
    }

    // --- Runtime permissions: fine location, then background, then notifications.

    private fun checkIn() {
        val missing = needed().filter { checkSelfPermission(it) != PackageManager.PERMISSION_GRANTED }
        if (Manifest.permission.ACCESS_FINE_LOCATION in missing) {
            requestPermissions(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION), REQUEST_LOCATION)
            return
        }
        explain(null)
        showMessage(getString(R.string.patrol_checking_in))
        PatrolService.checkIn(this, areaId)
        // Android asks for "all the time" and notifications separately, after the foreground grant.
        if (Manifest.permission.ACCESS_BACKGROUND_LOCATION in missing) {
            explain(getString(R.string.permission_background_why))
            requestPermissions(arrayOf(Manifest.permission.ACCESS_BACKGROUND_LOCATION), REQUEST_BACKGROUND)
        } else if (Manifest.permission.POST_NOTIFICATIONS in missing) {
            requestPermissions(arrayOf(Manifest.permission.POST_NOTIFICATIONS), REQUEST_NOTIFICATIONS)
        }
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        super.onRequestPermissionsResult(requestCode, permissions, grantResults)
        val granted = grantResults.isNotEmpty() && grantResults[0] == PackageManager.PERMISSION_GRANTED
        when (requestCode) {
            REQUEST_LOCATION -> if (granted) checkIn() else explain(getString(R.string.permission_refused), settings = true)
            REQUEST_BACKGROUND -> {
                if (!granted) explain(getString(R.string.permission_background_why), settings = true) else explain(null)
                if (checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED) {
                    requestPermissions(arrayOf(Manifest.permission.POST_NOTIFICATIONS), REQUEST_NOTIFICATIONS)
                }
            }
            REQUEST_NOTIFICATIONS -> if (!granted) explain(getString(R.string.permission_notifications_why), settings = true)
        }
    }

    private fun explain(text: String?, settings: Boolean = false) {
        findViewById<TextView>(R.id.permission_why).apply {
            this.text = text ?: ""
            visibility = if (text == null) View.GONE else View.VISIBLE
        }
        findViewById<Button>(R.id.open_settings).visibility = if (settings) View.VISIBLE else View.GONE
    }

    private fun needed() = listOf(
        Manifest.permission.ACCESS_FINE_LOCATION,
        Manifest.permission.ACCESS_BACKGROUND_LOCATION,
        Manifest.permission.POST_NOTIFICATIONS,
    )

    companion object {
        const val EXTRA_AREA = "area_id"
        const val EXTRA_WINDOW = "window"
        private const val REQUEST_LOCATION = 1
        private const val REQUEST_BACKGROUND = 2
        private const val REQUEST_NOTIFICATIONS = 3
    }
}
