package guardian.android

import android.content.Intent
import android.os.Bundle
import kotlinx.coroutines.launch
import uniffi.guardian_ffi.SyncException

/**
 * Where the provider's redirect lands (`uk.police.guardian:/oauth2redirect`,
 * or the force's claimed App Link). The whole redirect goes to the core,
 * which checks it answers the sign-in it started; then today's patrols, or
 * the sign-in screen with the core's reason.
 */
class RedirectActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val redirect = intent?.data?.toString()
        if (redirect == null) {
            finish()
            return
        }
        scope.launch {
            try {
                handset.completeSignIn(redirect)
                open<AssignmentsActivity>()
            } catch (e: SyncException) {
                startActivity(
                    Intent(this@RedirectActivity, SignInActivity::class.java)
                        .putExtra(SignInActivity.EXTRA_MESSAGE, e.message),
                )
            } finally {
                finish()
            }
        }
    }
}
