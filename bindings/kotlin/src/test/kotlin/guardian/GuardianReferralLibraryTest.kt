package guardian

import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.guardian_ffi.Authority
import uniffi.guardian_ffi.Consent
import uniffi.guardian_ffi.FieldProblem
import uniffi.guardian_ffi.Fix
import uniffi.guardian_ffi.Guardian
import uniffi.guardian_ffi.ReasonCode
import uniffi.guardian_ffi.LibraryException
import uniffi.guardian_ffi.ReferralException
import uniffi.guardian_ffi.ReferralForm
import uniffi.guardian_ffi.ReferralReason
import uniffi.guardian_ffi.ReferralOutcome
import uniffi.guardian_ffi.ReferralStatus
import uniffi.guardian_ffi.authorityName
import uniffi.guardian_ffi.referralStatusText
import uniffi.guardian_ffi.Subject
import uniffi.guardian_ffi.Urgency

/** Referrals and the practice library from Kotlin, against the real backend. */
class GuardianReferralLibraryTest {
    private fun signedIn(force: Force, dir: java.nio.file.Path): Guardian {
        val h = openHandset(dir.resolve("handset.db"), force.url)
        h.startSync(Tokens(force))
        assertTrue(runBlocking { h.syncNow() }.pulled)
        return h
    }

    private fun subject(name: String) = Subject(name, null, 15, null, null, null)

    @Test
    fun `a referral with mistakes names every field, then files and is acknowledged`() {
        val dir = tempDir()
        Force.start(dir).use { force ->
            signedIn(force, dir).use { h ->
                val draft = h.saveReferralDraft(null, ReferralForm(subject(""), emptyList(), "short", null, false, null, null, null))
                val e = assertThrows<ReferralException.Invalid> { runBlocking { h.submitReferral(draft) } }
                val fields = e.fields.associateBy { it.field }
                assertTrue(fields.keys.containsAll(listOf("subject.name", "reasons", "narrative", "consent", "urgency", "location")))
                assertEquals(FieldProblem.Required, fields["subject.name"]!!.problem)
                assertEquals(FieldProblem.TooShort(10u), fields["narrative"]!!.problem)

                // A draft keeps a date that is no date; the submit names it.
                val typed = ReferralForm(Subject("J", "31/02/20", null, null, null, null), emptyList(), "", null, false, null, null, null)
                assertEquals(draft, h.saveReferralDraft(draft, typed))
                assertEquals("31/02/20", h.referralDraft(draft).subject.dateOfBirth)
                val d = assertThrows<ReferralException.Invalid> { runBlocking { h.submitReferral(draft) } }
                assertEquals(
                    listOf<FieldProblem>(FieldProblem.NotADate),
                    d.fields.filter { it.field == "subject.date_of_birth" }.map { it.problem },
                )

                val now = System.currentTimeMillis()
                val form = ReferralForm(
                    subject = subject("Jay Example"),
                    reasons = listOf(ReferralReason.KnifeCarrying),
                    narrative = "Stopped near the Ramp with a blade; wants help with school.",
                    consent = Consent.Given,
                    safeguardingConcern = false,
                    urgency = Urgency.ROUTINE,
                    location = Fix(now - 60_000, 5_000_000_000, 52.4776, -1.8990, 8.0, null, null, null),
                    authorityChoice = Authority.COVENTRY,
                )
                h.saveReferralDraft(draft, form)
                val receipt = runBlocking { h.submitReferral(draft) }
                assertTrue(receipt.reference.startsWith("VRP-"))
                assertEquals(ReferralStatus.QUEUED, receipt.status)
                assertEquals(listOf(ReasonCode.KNIFE_CARRYING), receipt.reasons)
                assertEquals(Urgency.ROUTINE, receipt.urgency)
                assertTrue(h.referralDrafts().isEmpty())

                val pass = runBlocking { h.syncNow() }
                assertTrue(pass.acked >= 1u)
                assertEquals(0u, h.syncStatus().pending)
                val received = h.referralReceipts().single()
                assertEquals(ReferralStatus.RECEIVED, received.status)
                assertEquals(null, received.outcome)

                // The team closes it with an outcome: the handset shows the code and the team, in the core's words.
                val team = received.authority.name.lowercase()
                force.addNavigator("nav-kt", team)
                force.navigatorAct("nav-kt", receipt.id, "action=close&outcome=unable_to_contact")
                runBlocking { h.syncNow() }
                val closed = h.referralReceipts().single()
                assertEquals(ReferralStatus.CLOSED, closed.status)
                assertEquals(ReferralOutcome.UNABLE_TO_CONTACT, closed.outcome)
                assertEquals("Closed by the ${authorityName(closed.authority)} team: Unable to contact", referralStatusText(closed))
            }
        }
    }

    @Test
    fun `the library arrives by sync and is searched offline`() {
        val dir = tempDir()
        Force.start(dir).use { force ->
            Force.cli("publish-library", "--db", force.db.toString(), File(Paths.repo, "library").path)
            signedIn(force, dir).use { h ->
                val status = h.libraryStatus()
                assertTrue(status.version >= 1uL && status.articles > 10u)
                val found = h.librarySearch("trauma", 10u)
                assertTrue(found.hits.isNotEmpty())
                val view = h.libraryOpenArticle(found.hits.first().id)
                assertTrue(view.html.isNotEmpty())
                assertTrue(h.librarySetBookmark(view.id, true))
                assertEquals(listOf(view.id), h.libraryBookmarks().map { it.articleId })
                assertThrows<LibraryException.UnknownArticle> { h.libraryArticle("no-such-article") }
                assertThrows<LibraryException.BadPack> { runBlocking { h.libraryApplyPack("not a pack".toByteArray()) } }
                runBlocking { h.syncNow() }
                assertEquals(0u, h.syncStatus().pending)
            }
        }
    }
}
