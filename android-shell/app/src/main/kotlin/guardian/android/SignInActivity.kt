package guardian.android

import android.os.Bundle
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import kotlinx.coroutines.launch
import uniffi.guardian_ffi.SyncException

/**
 * Sign-in: the force's login gives a token (a force build puts its own
 * login flow here); the core syncs the officer, areas and assignments.
 */
class SignInActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_sign_in)
        val message = findViewById<TextView>(R.id.message)
        findViewById<TextView>(R.id.server).text = getString(R.string.sign_in_server, handset.backendUrl)
        val button = findViewById<Button>(R.id.sign_in)
        button.setOnClickListener {
            val token = findViewById<EditText>(R.id.token).text.toString()
            if (token.isBlank()) return@setOnClickListener
            button.isEnabled = false
            message.setText(R.string.sign_in_working)
            scope.launch {
                try {
                    if (handset.signIn(token) != null) {
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
}
