package guardian.android

import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import kotlinx.coroutines.launch
import uniffi.guardian_ffi.SyncException

/**
 * Sign-in. With the force's provider configured: the core's sign-in page in
 * the system browser ([SignInBrowser]); its redirect comes back through
 * [RedirectActivity]. Without one (the demo's reference backend): a pasted
 * dev token. Either way the core then syncs the officer, areas and
 * assignments.
 */
class SignInActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_sign_in)
        val message = findViewById<TextView>(R.id.message)
        intent?.getStringExtra(EXTRA_MESSAGE)?.let { message.text = it }
        findViewById<TextView>(R.id.server).text = getString(R.string.sign_in_server, handset.backendUrl)
        val button = findViewById<Button>(R.id.sign_in)
        val token = findViewById<EditText>(R.id.token)
        if (handset.forceSignIn) {
            token.visibility = View.GONE
            findViewById<TextView>(R.id.explain).setText(R.string.sign_in_force_explain)
            button.setText(R.string.sign_in_force_button)
        }
        button.setOnClickListener {
            if (!handset.forceSignIn && token.text.isBlank()) return@setOnClickListener
            button.isEnabled = false
            message.setText(R.string.sign_in_working)
            scope.launch {
                try {
                    if (handset.forceSignIn) {
                        (application as GuardianApp).signInBrowser().open(this@SignInActivity, handset.beginSignIn())
                        message.text = null
                    } else if (handset.signIn(token.text.toString()) != null) {
                        open<AssignmentsActivity>()
                        finish()
                    }
                } catch (e: SyncException) {
                    // The core's own sentence: wrong token, no network, server refused.
                    message.text = e.message
                } finally {
                    button.isEnabled = true
                }
            }
        }
    }

    companion object {
        const val EXTRA_MESSAGE = "guardian.sign_in.message"
    }
}
