package guardian.android

import android.os.Bundle
import android.widget.LinearLayout
import android.widget.TextView
import uniffi.guardian_ffi.ReferralException
import uniffi.guardian_ffi.referralStatusText

/**
 * The officer's referrals: drafts first (one the force returned says why;
 * one near its discard time says when), then what was submitted, each with
 * where it stands and, once closed, the team's outcome code. The words are
 * the core's; no name or detail of a young person is on this screen.
 */
class ReferralsActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_list)
        findViewById<TextView>(R.id.title).setText(R.string.referrals_title)
    }

    override fun refresh() {
        val g = guardian() ?: return
        val rows = findViewById<LinearLayout>(R.id.rows)
        rows.removeAllViews()
        try {
            val drafts = g.referralDrafts()
            val receipts = g.referralReceipts()
            if (drafts.isEmpty() && receipts.isEmpty()) addRow(rows, getString(R.string.referrals_none), null)
            for (d in drafts) {
                val detail = listOfNotNull(d.refused, d.warning).joinToString("\n")
                addRow(rows, getString(R.string.referrals_draft, hhmm(d.updatedMs)), detail) {
                    open<ReferralActivity> { putExtra(ReferralActivity.EXTRA_DRAFT, d.id) }
                }
            }
            for (r in receipts) {
                addRow(rows, getString(R.string.referrals_submitted, r.reference, hhmm(r.createdMs)), referralStatusText(r))
            }
        } catch (e: ReferralException) {
            addRow(rows, e.message ?: "", null)
        }
    }
}
