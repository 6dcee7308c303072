package guardian.android

import android.os.Bundle
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import kotlinx.coroutines.launch
import uniffi.guardian_ffi.Guardian
import uniffi.guardian_ffi.PatrolException
import uniffi.guardian_ffi.SyncException

/** Today's assigned areas with their windows; the way to everything else. */
class AssignmentsActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_list)
        findViewById<TextView>(R.id.title).setText(R.string.assignments_title)
        val actions = findViewById<LinearLayout>(R.id.actions)
        fun action(label: Int, onClick: () -> Unit) = actions.addView(
            Button(this).apply {
                setText(label)
                setOnClickListener { onClick() }
            },
        )
        action(R.string.open_referral) { open<ReferralActivity>() }
        action(R.string.open_referrals) { open<ReferralsActivity>() }
        action(R.string.open_library) { open<LibraryActivity>() }
        action(R.string.open_bookmarks) { open<BookmarksActivity>() }
        action(R.string.sync_now) {
            val g = guardian() ?: return@action
            scope.launch {
                try {
                    g.syncNow()
                } catch (e: SyncException) {
                    findViewById<TextView>(R.id.sync_state).text = e.message
                }
                refresh()
            }
        }
    }

    override fun refresh() {
        val g = guardian() ?: return
        val rows = findViewById<LinearLayout>(R.id.rows)
        rows.removeAllViews()
        findViewById<TextView>(R.id.sync_state).text = syncLine(g)
        g.patrolStatus()?.let { open ->
            addRow(rows, getString(R.string.open_patrol, open.areaName), patrolStatusLine(open)) {
                open<PatrolActivity> { putExtra(PatrolActivity.EXTRA_AREA, open.areaId) }
            }
        }
        val assignments = try {
            g.todaysAssignments()
        } catch (e: PatrolException) {
            addRow(rows, e.message ?: "", null)
            return
        }
        if (assignments.isEmpty()) addRow(rows, getString(R.string.assignments_none), null)
        for (a in assignments) {
            val name = g.area(a.areaId)?.name ?: a.areaId
            addRow(rows, name, getString(R.string.assignment_window, hhmm(a.startMs), hhmm(a.endMs))) {
                open<PatrolActivity> {
                    putExtra(PatrolActivity.EXTRA_AREA, a.areaId)
                    putExtra(PatrolActivity.EXTRA_WINDOW, getString(R.string.assignment_window, hhmm(a.startMs), hhmm(a.endMs)))
                }
            }
        }
    }

    private fun syncLine(g: Guardian): String = try {
        val s = g.syncStatus()
        val last = s.lastSuccessMs?.let { getString(R.string.sync_last, hhmm(it)) } ?: getString(R.string.sync_never)
        getString(R.string.sync_pending, s.pending.toInt(), last)
    } catch (e: SyncException) {
        e.message ?: ""
    }
}

fun android.content.Context.patrolStatusLine(status: uniffi.guardian_ffi.PatrolStatus): String =
    uniffi.guardian_ffi.patrolStatusText(status).headline
