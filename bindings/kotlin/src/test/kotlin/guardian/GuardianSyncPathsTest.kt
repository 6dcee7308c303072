package guardian

import java.io.File
import java.nio.file.Path
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import uniffi.guardian_ffi.Authority
import uniffi.guardian_ffi.Consent
import uniffi.guardian_ffi.Fix
import uniffi.guardian_ffi.Guardian
import uniffi.guardian_ffi.GuardianEvent
import uniffi.guardian_ffi.ReferralForm
import uniffi.guardian_ffi.ReferralReason
import uniffi.guardian_ffi.ReferralStatus
import uniffi.guardian_ffi.Subject
import uniffi.guardian_ffi.Urgency

/**
 * The sync paths the Android shell leans on beyond the main flow: routing
 * from the force's boundaries and the Navigator's status as an event, the
 * background scheduler draining the outbox when signal returns, and
 * bookmarks following the officer to a new handset.
 */
class GuardianSyncPathsTest {
    private val birmingham = 52.4796 to -1.9026

    private fun signedIn(force: Force, path: Path, events: Events = Events()): Guardian {
        val h = openHandset(path, force.url)
        h.setEventListener(events)
        h.startSync(Tokens(force))
        runBlocking { h.syncNow() }
        return h
    }

    private fun referralAt(lat: Double, lon: Double, choice: Authority? = null) = ReferralForm(
        subject = Subject("Rae Example", null, 14, null, null, null),
        reasons = listOf(ReferralReason.CriminalExploitation),
        narrative = "Seen running bags between the flats twice this week; says an older cousin asks.",
        consent = Consent.Given,
        safeguardingConcern = false,
        urgency = Urgency.ROUTINE,
        location = Fix(System.currentTimeMillis() - 30_000, 7_000_000_000, lat, lon, 6.0, null, null, null),
        authorityChoice = choice,
    )

    private fun waitFor(timeoutMs: Long = 20_000, what: () -> Boolean): Boolean {
        val deadline = System.currentTimeMillis() + timeoutMs
        while (System.currentTimeMillis() < deadline) {
            if (what()) return true
            Thread.sleep(100)
        }
        return false
    }

    @Test
    fun `a referral routes by the force's boundaries and its status returns as an event`() {
        val dir = tempDir()
        Force.start(dir).use { force ->
            Force.cli("load-boundaries", "--db", force.db.toString(), File(Paths.fixtures, "boundaries").path)
            Force.cli("create-navigator", "--db", force.db.toString(), "--id", "nav-bham-1", "--name", "Navigator One", "--authority", "birmingham")
            val events = Events()
            signedIn(force, dir.resolve("handset.db"), events).use { h ->
                assertEquals(Authority.BIRMINGHAM, h.routeReferral(birmingham.first, birmingham.second).authority)
                val london = h.routeReferral(51.5074, -0.1278)
                assertNull(london.authority)
                assertNotNull(london.needsChoice)

                val draft = h.saveReferralDraft(null, referralAt(birmingham.first, birmingham.second))
                val receipt = runBlocking { h.submitReferral(draft) }
                assertEquals(Authority.BIRMINGHAM, receipt.authority)
                assertTrue(runBlocking { h.syncNow() }.acked >= 1u)

                force.post("/v1/navigator/referrals/${receipt.id}/status", """{"status":"contacted"}""", force.token("nav-bham-1", "navigator"))
                runBlocking { h.syncNow() }
                val changed = events.seen.filterIsInstance<GuardianEvent.ReferralStatusChanged>()
                assertEquals(listOf(receipt.id to ReferralStatus.CONTACTED), changed.map { it.referralId to it.status })
                assertEquals(ReferralStatus.CONTACTED, h.referralReceipts().single().status)
            }
        }
    }

    @Test
    fun `the outbox drains by itself when signal returns`() {
        val dir = tempDir()
        Force.start(dir).use { force ->
            val events = Events()
            signedIn(force, dir.resolve("handset.db"), events).use { h ->
                h.setOnline(false)
                val draft = h.saveReferralDraft(null, referralAt(birmingham.first, birmingham.second, Authority.BIRMINGHAM))
                runBlocking { h.submitReferral(draft) }
                Thread.sleep(2_000)
                assertEquals(1u, h.syncStatus().pending, "offline, nothing is sent")

                h.setOnline(true)
                assertTrue(waitFor { h.syncStatus().pending == 0u }, "signal came back but nothing was sent")
                assertTrue(waitFor { events.seen.any { it is GuardianEvent.SyncProgress } })
                assertEquals(ReferralStatus.RECEIVED, h.referralReceipts().single().status)
                h.stopSync()
            }
        }
    }

    @Test
    fun `bookmarks follow the officer to a second handset`() {
        val dir = tempDir()
        Force.start(dir).use { force ->
            Force.cli("publish-library", "--db", force.db.toString(), File(Paths.repo, "library").path)
            val article = signedIn(force, dir.resolve("first.db")).use { first ->
                runBlocking { first.syncNow() }
                val hit = first.librarySearch("consent", 5u).hits.first()
                first.libraryOpenArticle(hit.id)
                assertTrue(first.librarySetBookmark(hit.id, true))
                runBlocking { first.syncNow() }
                assertEquals(0u, first.syncStatus().pending)
                hit.id
            }
            signedIn(force, dir.resolve("second.db")).use { second ->
                runBlocking { second.syncNow() }
                assertEquals(listOf(article), second.libraryBookmarks().map { it.articleId })
                assertTrue(second.libraryArticle(article).bookmarked)
            }
        }
    }
}
