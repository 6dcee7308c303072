package guardian.android

import android.app.Activity
import android.app.Application
import android.content.Intent
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.view.View
import android.widget.Button
import android.widget.LinearLayout
import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import uniffi.guardian_ffi.GeofenceKind

/**
 * Every screen drawn for real (Robolectric's native graphics: Android's
 * own renderer, on the host) into target/screens/NAME.png, with the core's
 * data from a real force: for a reviewer to look at, and a check that each
 * screen inflates and lays out.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestApp::class, qualifiers = "w360dp-h760dp-xhdpi")
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class ScreensTest {
    private lateinit var app: Application

    @Before
    fun setUp() {
        app = freshApp()
        runBlocking { app.handset.signIn(force.token()) }
    }

    @After
    fun close() = app.handset.close()

    private fun <T : Activity> shoot(name: String, type: Class<T>, intent: Intent? = null, before: (T) -> Unit = {}): T {
        val activity = Robolectric.buildActivity(type, intent ?: Intent(app, type)).setup().visible().get()
        before(activity)
        waitFor("$name to draw", 5) { true }
        val root: View = activity.window.decorView
        val bitmap = Bitmap.createBitmap(root.width, root.height, Bitmap.Config.ARGB_8888)
        val canvas = Canvas(bitmap)
        canvas.drawColor(Color.WHITE)
        root.draw(canvas)
        screens.mkdirs()
        val file = File(screens, "$name.png")
        file.outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
        assertTrue("$name.png was drawn", file.length() > 2_000)
        return activity
    }

    @Test
    fun `every screen draws`() {
        shoot("sign-in", SignInActivity::class.java)
        shoot("assignments", AssignmentsActivity::class.java)
        shoot("patrol-before-check-in", PatrolActivity::class.java, Intent(app, PatrolActivity::class.java).putExtra(PatrolActivity.EXTRA_AREA, "trk-garmin"))
        // Twenty minutes into a patrol on a real track (straight to the core: the service has its own tests).
        val g = app.handset.guardianOrNull()!!
        val fixes = gpxLocations("garmin-activity.gpx", "gps").map { it.toFix() }
        var i = 0
        while (g.ingestFix(fixes[i]).events.none { it.kind == GeofenceKind.ARRIVED }) i++
        runBlocking {
            g.checkIn("trk-garmin", fixes[i])
            g.ingestFixes(fixes.subList(i + 1, fixes.size).takeWhile { it.timeMs - fixes[i].timeMs < 20 * 60_000 })
        }
        shoot("patrol", PatrolActivity::class.java, Intent(app, PatrolActivity::class.java).putExtra(PatrolActivity.EXTRA_AREA, "trk-garmin"))
        shoot("assignments-open-patrol", AssignmentsActivity::class.java)
        shoot("referral-errors", ReferralActivity::class.java) { form ->
            form.findViewById<Button>(R.id.submit).performClick()
            waitFor("the core's verdict") { form.findViewById<android.widget.TextView>(R.id.summary).text.isNotEmpty() }
        }
        shoot("referrals", ReferralsActivity::class.java)
        val library = shoot("library", LibraryActivity::class.java)
        val first = library.findViewById<LinearLayout>(R.id.rows).getChildAt(0)
        first.performClick()
        val article = org.robolectric.Shadows.shadowOf(app).nextStartedActivity
        shoot("article", ArticleActivity::class.java, article)
        app.handset.guardianOrNull()!!.librarySetBookmark(article.getStringExtra(ArticleActivity.EXTRA_ARTICLE)!!, true)
        shoot("bookmarks", BookmarksActivity::class.java)
        shoot("problem-key-lost", ProblemActivity::class.java, ProblemActivity.intent(app, Problem.UNREADABLE, null))
    }
}
