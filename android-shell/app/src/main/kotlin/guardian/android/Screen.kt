package guardian.android

import android.app.Activity
import android.content.Intent
import android.view.LayoutInflater
import android.view.View
import android.view.WindowInsets
import android.widget.LinearLayout
import android.widget.TextView
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import uniffi.guardian_ffi.Guardian
import uniffi.guardian_ffi.GuardianEvent

/**
 * Android 15 draws apps edge to edge (targetSdk 35): the screens keep
 * clear of the status and navigation bars and the keyboard themselves.
 */
fun fitSystemBars(activity: Activity) {
    activity.findViewById<View>(android.R.id.content).setOnApplyWindowInsetsListener { v, insets ->
        val bars = insets.getInsets(WindowInsets.Type.systemBars() or WindowInsets.Type.displayCutout() or WindowInsets.Type.ime())
        v.setPadding(bars.left, bars.top, bars.right, bars.bottom)
        WindowInsets.CONSUMED
    }
}

/**
 * What every screen shares: the open core (or the problem screen when it
 * cannot be opened), a coroutine scope that dies with the screen, and the
 * core's events while the screen is in front. Screens draw what the core
 * returns; they decide nothing.
 */
abstract class Screen : Activity() {
    protected val scope: CoroutineScope = MainScope()
    private var subscriptions = mutableListOf<AutoCloseable>()

    /** The core, or null after routing to the problem screen. */
    protected fun guardian(): Guardian? = when (val opened = handset.open()) {
        is Opened.Ready -> opened.guardian
        is Opened.Failed -> {
            startActivity(ProblemActivity.intent(this, opened.problem, opened.detail))
            finish()
            null
        }
    }

    override fun onContentChanged() {
        super.onContentChanged()
        fitSystemBars(this)
    }

    /** Draws the screen from the core. Called on resume and on every core event. */
    protected open fun refresh() = Unit

    protected open fun onCoreEvent(event: GuardianEvent) {
        // The force erased this handset: nothing is left to show but sign-in.
        if (event is GuardianEvent.Wiped && this !is SignInActivity) {
            open<SignInActivity>()
            finish()
        } else {
            refresh()
        }
    }

    override fun onResume() {
        super.onResume()
        subscriptions += handset.subscribe(::onCoreEvent)
        refresh()
    }

    override fun onPause() {
        subscriptions.forEach { it.close() }
        subscriptions.clear()
        super.onPause()
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    /** A row (title and a line under it) added to `rows`. */
    protected fun addRow(rows: LinearLayout, title: CharSequence, detail: CharSequence?, onClick: (() -> Unit)? = null): View {
        val row = LayoutInflater.from(this).inflate(R.layout.row, rows, false)
        row.findViewById<TextView>(R.id.row_title).text = title
        row.findViewById<TextView>(R.id.row_detail).apply {
            text = detail ?: ""
            visibility = if (detail.isNullOrEmpty()) View.GONE else View.VISIBLE
        }
        if (onClick != null) row.setOnClickListener { onClick() } else row.isClickable = false
        rows.addView(row)
        return row
    }

    protected inline fun <reified T : Activity> open(configure: Intent.() -> Unit = {}) =
        startActivity(Intent(this, T::class.java).apply(configure))

    companion object {
        private val clock = DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneId.systemDefault())

        /** A time of day on this phone's clock, for display. */
        fun hhmm(ms: Long): String = clock.format(Instant.ofEpochMilli(ms))
    }
}
