package guardian.android

import android.app.Application
import android.content.Intent
import android.net.Uri
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import guardian.Force
import guardian.IdentityProvider
import guardian.OFFICER_ID
import java.nio.file.Files
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import uniffi.guardian_ffi.SignInConfig

/**
 * The force sign-in through the shell: the sign-in button opens the core's
 * URL as a Custom Tab (never a WebView), the provider's redirect intent
 * reaches the core through [RedirectActivity], and today's patrols follow;
 * a forged redirect lands back on sign-in with the core's reason. Against
 * a provider on loopback whose RS256 tokens the real backend verifies.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestApp::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class SignInFlowTest {
    private lateinit var app: Application
    private lateinit var idp: IdentityProvider
    private lateinit var trusting: Force

    @Before
    fun setUp() {
        app = freshApp()
        idp = IdentityProvider()
        trusting = Force.startTrusting(Files.createTempDirectory("guardian-force-oidc"), idp)
        Keys.backendUrl = trusting.url
        Keys.signIn = SignInConfig(idp.issuer, "guardian-handset", "uk.police.guardian:/oauth2redirect", null, null)
    }

    @After
    fun close() {
        app.handset.close()
        trusting.close()
        idp.close()
    }

    /** Taps "Sign in with the force" and returns the URL the Custom Tab was asked to open. */
    private fun tapSignIn(): String {
        val screen = Robolectric.buildActivity(SignInActivity::class.java).setup().get()
        assertEquals(View.GONE, screen.findViewById<EditText>(R.id.token).visibility)
        screen.findViewById<Button>(R.id.sign_in).performClick()
        var opened: Intent? = null
        waitFor("the browser") { shadowOf(app).nextStartedActivity?.also { opened = it } != null }
        val tab = opened!!
        assertEquals(Intent.ACTION_VIEW, tab.action)
        assertTrue("a Custom Tab", tab.extras!!.containsKey(CustomTabs.EXTRA_SESSION))
        assertTrue(tab.hasCategory(Intent.CATEGORY_BROWSABLE))
        return tab.dataString!!
    }

    @Test
    fun `the redirect from the force's sign-in reaches the core and today's patrols follow`() {
        val url = tapSignIn()
        assertTrue(url, url.startsWith("${idp.issuer}/auth?") && url.contains("code_challenge_method=S256"))
        assertFalse(app.handset.signedIn)

        val redirect = Intent(Intent.ACTION_VIEW, Uri.parse(idp.browse(url)))
        val landing = Robolectric.buildActivity(RedirectActivity::class.java, redirect).setup().get()
        waitFor("the sign-in to complete") { landing.isFinishing }
        assertEquals(AssignmentsActivity::class.java.name, shadowOf(app).nextStartedActivity.component!!.className)
        assertTrue(app.handset.signedIn)
        assertEquals(OFFICER_ID, app.handset.guardianOrNull()!!.officer()?.officerId)
    }

    @Test
    fun `a forged redirect lands back on sign-in with the core's reason`() {
        val url = tapSignIn()
        val forged = idp.browse(url).replace("state=", "state=forged")
        val landing = Robolectric.buildActivity(RedirectActivity::class.java, Intent(Intent.ACTION_VIEW, Uri.parse(forged)))
            .setup().get()
        waitFor("the refusal") { landing.isFinishing }
        val next = shadowOf(app).nextStartedActivity
        assertEquals(SignInActivity::class.java.name, next.component!!.className)
        val reason = next.getStringExtra(SignInActivity.EXTRA_MESSAGE)!!
        assertTrue(reason, reason.contains("state"))
        assertFalse(app.handset.signedIn)
        assertNull(app.handset.guardianOrNull()!!.officer())
        val shown = Robolectric.buildActivity(SignInActivity::class.java, next).setup().get()
        assertEquals(reason, shown.findViewById<TextView>(R.id.message).text.toString())
    }
}
