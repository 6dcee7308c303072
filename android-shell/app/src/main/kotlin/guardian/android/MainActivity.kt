package guardian.android

import android.os.Bundle

/** The launcher: opens the core and sends the officer to the right screen. */
class MainActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val g = guardian() ?: return
        // A patrol left open (app updated, process killed, phone restarted): tracking resumes.
        PatrolService.resumeIfOpen(this, g)
        if (handset.signedIn) open<AssignmentsActivity>() else open<SignInActivity>()
        finish()
    }
}
