package guardian.android

import android.app.Application
import android.app.job.JobInfo
import android.app.job.JobScheduler
import android.content.Intent
import android.net.ConnectivityManager
import android.net.Network
import android.content.pm.PackageManager
import android.view.View
import android.webkit.WebView
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import org.robolectric.shadow.api.Shadow
import uniffi.guardian_ffi.Authority
import uniffi.guardian_ffi.Consent
import uniffi.guardian_ffi.Fix
import uniffi.guardian_ffi.ReferralForm
import uniffi.guardian_ffi.ReferralReason
import uniffi.guardian_ffi.Subject
import uniffi.guardian_ffi.Urgency

/** Connectivity, background sync, the referral form and the lost-key screen, against the real core and force. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestApp::class)
// One Robolectric sandbox for every class (ScreensTest needs native
// graphics): the generated bindings and the native library are loaded once.
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class ShellTest {
    private lateinit var app: Application

    @Before
    fun setUp() {
        app = freshApp()
    }

    @After
    fun close() = app.handset.close()

    private fun signIn() = runBlocking { assertNotNull(app.handset.signIn(force.token())) }

    @Test
    fun `the network callback takes the core offline and back online, and coming back syncs`() {
        signIn()
        val g = app.handset.guardianOrNull()!!
        val cm = app.getSystemService(ConnectivityManager::class.java)
        val callbacks = shadowOf(cm).networkCallbacks
        assertEquals("one default-network callback", 1, callbacks.size)
        val network: Network = Shadow.newInstanceOf(Network::class.java)

        // Signal lost: the core holds everything and says offline.
        shadowOf(cm).setActiveNetworkInfo(null)
        shadowOf(cm).clearAllNetworks()
        callbacks.forEach { it.onLost(network) }
        assertFalse(g.syncStatus().online)
        val draft = g.saveReferralDraft(
            null,
            ReferralForm(
                Subject("Jay Example", null, 15, null, null, null),
                listOf(ReferralReason.KnifeCarrying),
                "Stopped near the Ramp with a blade; wants help with school.",
                Consent.Given, false, Urgency.ROUTINE,
                Fix(System.currentTimeMillis() - 60_000, 5_000_000_000, 52.4776, -1.8990, 8.0, null, null, null),
                Authority.COVENTRY,
            ),
        )
        runBlocking { g.submitReferral(draft) }
        val acked = g.syncStatus().acked
        assertTrue(g.syncStatus().pending > 0u)

        // Signal back: the callback tells the core, which sends the outbox to the force by itself.
        callbacks.forEach { it.onAvailable(network) }
        assertTrue(g.syncStatus().online)
        waitFor("the outbox to drain to the force", 30) { g.syncStatus().pending == 0u }
        assertTrue(g.syncStatus().acked > acked)
    }

    @Test
    fun `my referrals lists drafts and shows a closed referral's outcome and team in the core's words`() {
        signIn()
        val g = app.handset.guardianOrNull()!!
        val form = ReferralForm(
            Subject("Sam Outcome", null, 15, null, null, null),
            listOf(ReferralReason.KnifeCarrying),
            "Stopped near the Ramp with a blade; wants help with school.",
            Consent.Given, false, Urgency.ROUTINE,
            Fix(System.currentTimeMillis() - 60_000, 5_000_000_000, 52.4776, -1.8990, 8.0, null, null, null),
            Authority.COVENTRY,
        )
        val receipt = runBlocking { g.submitReferral(g.saveReferralDraft(null, form)) }
        g.saveReferralDraft(null, form.copy(subject = Subject("Alex Draft", null, 14, null, null, null)))
        runBlocking { g.syncNow() }
        val held = g.referralReceipts().first { it.id == receipt.id }
        force.addNavigator("nav-android", held.authority.name.lowercase())
        force.navigatorAct("nav-android", receipt.id, "action=close&outcome=declined")
        runBlocking { g.syncNow() }

        val screen = Robolectric.buildActivity(ReferralsActivity::class.java).setup().visible().get()
        val rows = screen.findViewById<android.widget.LinearLayout>(R.id.rows)
        val lines = (0 until rows.childCount).map { i ->
            val row = rows.getChildAt(i)
            row.findViewById<TextView>(R.id.row_title).text.toString() to row.findViewById<TextView>(R.id.row_detail).text.toString()
        }
        val closed = lines.single { it.first.startsWith(receipt.reference) }
        assertEquals("Closed by the ${uniffi.guardian_ffi.authorityName(held.authority)} team: Declined support", closed.second)
        assertTrue("the draft is listed first: $lines", lines.first().first.startsWith("Draft, last saved"))
        assertFalse("no young person's name on the list: $lines", lines.any { "Sam" in it.toString() || "Alex" in it.toString() })

        // A draft opens the form with it.
        rows.getChildAt(0).performClick()
        val opened = shadowOf(app).nextStartedActivity
        assertEquals(ReferralActivity::class.java.name, opened.component?.className)
        assertNotNull(opened.getStringExtra(ReferralActivity.EXTRA_DRAFT))
    }

    @Test
    fun `background sync is scheduled with JobScheduler and needs a network`() {
        signIn()
        val job = app.getSystemService(JobScheduler::class.java).getPendingJob(SyncJobService.JOB_ID)
        assertNotNull(job)
        assertEquals(JobInfo.NETWORK_TYPE_ANY, job!!.networkType)
        assertTrue(job.isPeriodic)
    }

    @Test
    fun `the referral form shows every field error from the core at once and keeps the draft`() {
        signIn()
        val controller = Robolectric.buildActivity(ReferralActivity::class.java).setup()
        val form = controller.get()
        form.findViewById<EditText>(R.id.dob).setText("31/02/20")
        form.findViewById<Button>(R.id.submit).performClick()
        val errors = listOf(R.id.name_error, R.id.dob_error, R.id.reasons_error, R.id.narrative_error, R.id.consent_error, R.id.urgency_error)
        waitFor("the core's verdict on the form") { form.findViewById<TextView>(R.id.summary).text.isNotEmpty() }
        for (id in errors) {
            assertTrue("${form.resources.getResourceEntryName(id)} is shown", form.findViewById<TextView>(id).text.isNotEmpty())
        }
        // What was typed is still there, and saved in the core as a draft.
        assertEquals("31/02/20", form.findViewById<EditText>(R.id.dob).text.toString())
        val drafts = app.handset.guardianOrNull()!!.referralDrafts()
        assertEquals(1, drafts.size)

        // Opened again from the draft, the form comes back as typed.
        controller.pause().stop().destroy()
        val again = Robolectric.buildActivity(
            ReferralActivity::class.java,
            Intent(app, ReferralActivity::class.java).putExtra(ReferralActivity.EXTRA_DRAFT, drafts.single().id),
        ).setup().get()
        assertEquals("31/02/20", again.findViewById<EditText>(R.id.dob).text.toString())
    }

    @Test
    fun `a lost keystore key gives the clear screen, and starting afresh leads to sign-in`() {
        signIn()
        app.handset.close()
        Keys.current.lose()

        Robolectric.buildActivity(MainActivity::class.java).setup()
        val next = shadowOf(app).nextStartedActivity
        assertEquals(ProblemActivity::class.java.name, next.component!!.className)
        val screen = Robolectric.buildActivity(ProblemActivity::class.java, next).setup().get()
        assertEquals(app.getString(R.string.problem_unreadable_title), screen.findViewById<TextView>(R.id.title).text.toString())
        assertEquals(app.getString(R.string.problem_unreadable_action), screen.findViewById<Button>(R.id.action).text.toString())

        screen.findViewById<Button>(R.id.action).performClick()
        assertEquals(SignInActivity::class.java.name, shadowOf(app).nextStartedActivity.component!!.className)
        // A fresh store opens with a fresh key; the officer signs in again.
        assertFalse(app.handset.signedIn)
        signIn()
    }

    @Test
    fun `refused location is explained, offers Settings and starts no tracking`() {
        signIn()
        val screen = Robolectric.buildActivity(
            PatrolActivity::class.java,
            Intent(app, PatrolActivity::class.java).putExtra(PatrolActivity.EXTRA_AREA, "trk-garmin"),
        ).setup().get()
        screen.findViewById<Button>(R.id.check_in).performClick()
        val asked = shadowOf(screen).lastRequestedPermission
        assertTrue(android.Manifest.permission.ACCESS_FINE_LOCATION in asked.requestedPermissions)
        screen.onRequestPermissionsResult(asked.requestCode, asked.requestedPermissions, intArrayOf(PackageManager.PERMISSION_DENIED))
        assertEquals(View.VISIBLE, screen.findViewById<TextView>(R.id.permission_why).visibility)
        assertEquals(app.getString(R.string.permission_refused), screen.findViewById<TextView>(R.id.permission_why).text.toString())
        assertEquals(View.VISIBLE, screen.findViewById<Button>(R.id.open_settings).visibility)
        assertEquals(null, shadowOf(app).nextStartedService)
    }

    @Test
    fun `an article is the core's sanitised HTML in a WebView with JavaScript and file access off`() {
        signIn()
        val g = app.handset.guardianOrNull()!!
        val id = g.librarySearch("trauma", 5u).hits.first().id
        val screen = Robolectric.buildActivity(
            ArticleActivity::class.java,
            Intent(app, ArticleActivity::class.java).putExtra(ArticleActivity.EXTRA_ARTICLE, id),
        ).setup().get()
        val web = screen.findViewById<WebView>(R.id.body)
        assertFalse(web.settings.javaScriptEnabled)
        assertFalse(web.settings.allowFileAccess)
        assertFalse(web.settings.allowContentAccess)
        assertTrue(web.settings.blockNetworkLoads)
        assertEquals(g.libraryArticle(id).html, shadowOf(web).lastLoadDataWithBaseURL.data)
    }

    @Test
    fun `signing in with the force's token leads to today's patrols`() {
        val screen = Robolectric.buildActivity(SignInActivity::class.java).setup().get()
        screen.findViewById<EditText>(R.id.token).setText(force.token())
        screen.findViewById<Button>(R.id.sign_in).performClick()
        waitFor("sign-in") { screen.isFinishing }
        assertEquals(AssignmentsActivity::class.java.name, shadowOf(app).nextStartedActivity.component!!.className)
        assertTrue(app.handset.signedIn)
    }
}
