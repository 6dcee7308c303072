package guardian.android

import android.app.Activity
import android.content.Context
import android.content.Intent
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.TextView
import uniffi.guardian_ffi.StoreException

/**
 * The clear screen for data that cannot be used (a lost keystore key, a
 * damaged or full store, a newer app's data): what happened, what it means,
 * one thing to do. Never a crash.
 */
class ProblemActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_problem)
        fitSystemBars(this)
        val problem = Problem.valueOf(intent.getStringExtra(EXTRA_PROBLEM) ?: Problem.STORAGE.name)
        findViewById<TextView>(R.id.title).setText(problem.title)
        findViewById<TextView>(R.id.body).setText(problem.body)
        val detail = findViewById<TextView>(R.id.detail)
        intent.getStringExtra(EXTRA_DETAIL)?.let { detail.text = getString(R.string.problem_detail, it) }
        val action = findViewById<Button>(R.id.action)
        when (problem.action) {
            Problem.Action.START_AFRESH -> {
                action.setText(R.string.problem_unreadable_action)
                action.setOnClickListener {
                    handset.startAfresh()
                    startActivity(Intent(this, SignInActivity::class.java))
                    finish()
                }
            }
            Problem.Action.RECOVER -> {
                action.setText(R.string.problem_damaged_action)
                action.setOnClickListener {
                    try {
                        val report = handset.recover()
                        var text = getString(R.string.problem_recovered, report.unsentRecords.toInt(), report.referrals.toInt(), report.drafts.toInt())
                        if (report.damagedTables.isNotEmpty()) {
                            text += "\n" + getString(R.string.problem_recovered_lost, report.damagedTables.joinToString())
                        }
                        detail.text = text
                        action.setText(R.string.problem_retry)
                        action.setOnClickListener { restart() }
                    } catch (e: StoreException) {
                        detail.text = getString(R.string.problem_detail, e.message)
                    } catch (e: KeyLostException) {
                        detail.text = getString(R.string.problem_detail, e.message)
                    }
                }
            }
            Problem.Action.RETRY -> {
                action.setText(R.string.problem_retry)
                action.setOnClickListener { restart() }
            }
            Problem.Action.NONE -> action.visibility = View.GONE
        }
    }

    private fun restart() {
        startActivity(Intent(this, MainActivity::class.java))
        finish()
    }

    companion object {
        const val EXTRA_PROBLEM = "problem"
        const val EXTRA_DETAIL = "detail"

        fun intent(context: Context, problem: Problem, detail: String?): Intent =
            Intent(context, ProblemActivity::class.java)
                .putExtra(EXTRA_PROBLEM, problem.name)
                .putExtra(EXTRA_DETAIL, detail)
    }
}
