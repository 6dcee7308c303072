package guardian.android

import android.os.Bundle
import android.view.View
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.CheckBox
import android.widget.EditText
import android.widget.RadioGroup
import android.widget.Spinner
import android.widget.TextView
import kotlinx.coroutines.launch
import uniffi.guardian_ffi.Authority
import uniffi.guardian_ffi.Consent
import uniffi.guardian_ffi.FieldError
import uniffi.guardian_ffi.Fix
import uniffi.guardian_ffi.ReferralException
import uniffi.guardian_ffi.ReferralForm
import uniffi.guardian_ffi.ReferralReason
import uniffi.guardian_ffi.Subject
import uniffi.guardian_ffi.Urgency
import uniffi.guardian_ffi.authorityName

/**
 * The VRP referral form. The core checks it, all at once: every field's
 * problem is shown beside that field together, and the draft (saved in the
 * core, encrypted) stays as typed. Nothing is checked here.
 */
class ReferralActivity : Screen() {
    private var draftId: String? = null
    private var submitted = false

    /** The fix the officer chose to attach (the core routes the referral with it). */
    private var location: Fix? = null

    private val reasonBoxes by lazy {
        listOf(
            R.id.reason_knife to ReferralReason.KnifeCarrying,
            R.id.reason_exploitation to ReferralReason.CriminalExploitation,
            R.id.reason_gang to ReferralReason.GangAssociation,
            R.id.reason_vawg to ReferralReason.VawgHarmfulSexualBehaviour,
            R.id.reason_parent_prison to ReferralReason.ParentInPrison,
            R.id.reason_missing to ReferralReason.MissingEpisodes,
            R.id.reason_exclusion to ReferralReason.SchoolExclusion,
            R.id.reason_mental_health to ReferralReason.MentalHealth,
        )
    }

    /** Where each of the core's field names is shown; the rest go to the summary at the top. */
    private val errorViews = listOf(
        "subject.name" to R.id.name_error,
        "subject.date_of_birth" to R.id.dob_error,
        "subject.estimated_age" to R.id.age_error,
        "subject.address" to R.id.address_error,
        "subject.school" to R.id.school_error,
        "subject.carer_contact" to R.id.carer_error,
        "reasons" to R.id.reasons_error,
        "narrative" to R.id.narrative_error,
        "consent" to R.id.consent_error,
        "safeguarding_concern" to R.id.consent_error,
        "urgency" to R.id.urgency_error,
        "location" to R.id.location_error,
        "has_location" to R.id.location_error,
        "authority" to R.id.authority_error,
    )

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_referral)
        val authorities = listOf(getString(R.string.referral_authority_none)) + Authority.entries.map { authorityName(it) }
        findViewById<Spinner>(R.id.authority).adapter =
            ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, authorities)
        draftId = savedInstanceState?.getString(STATE_DRAFT) ?: intent.getStringExtra(EXTRA_DRAFT)
        val g = guardian() ?: return
        // Opened from the list of drafts, or brought back after the process died: the core has it.
        if (savedInstanceState == null) draftId?.let { id -> fill(g.referralDraft(id)) }
        findViewById<CheckBox>(R.id.use_location).setOnCheckedChangeListener { _, on ->
            location = if (on) handset.lastFix() else null
        }
        findViewById<Button>(R.id.save).setOnClickListener { save()?.let { say(getString(R.string.referral_saved)) } }
        findViewById<Button>(R.id.submit).setOnClickListener { submit() }
        showErrors(emptyList())
    }

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        outState.putString(STATE_DRAFT, draftId)
    }

    override fun onPause() {
        // Whatever is typed is kept, in the core, when the officer leaves the screen.
        if (!submitted && (draftId != null || text(R.id.name).isNotBlank() || text(R.id.narrative).isNotBlank())) save()
        super.onPause()
    }

    /** Saves the form as a draft; returns its id. */
    private fun save(): String? {
        val g = guardian() ?: return null
        return try {
            g.saveReferralDraft(draftId, form()).also { draftId = it }
        } catch (e: ReferralException) {
            say(e.message)
            null
        }
    }

    private fun submit() {
        val g = guardian() ?: return
        val id = save() ?: return
        showErrors(emptyList())
        scope.launch {
            try {
                val receipt = g.submitReferral(id)
                draftId = null
                submitted = true
                say(getString(R.string.referral_submitted, receipt.reference, authorityName(receipt.authority)))
                finish()
            } catch (e: ReferralException.Invalid) {
                showErrors(e.fields)
            } catch (e: ReferralException) {
                say(e.message)
            }
        }
    }

    /** Every problem at once, each beside its field; unknown fields in the summary. */
    fun showErrors(errors: List<FieldError>) {
        val byView = LinkedHashMap<Int, MutableList<String>>()
        val other = mutableListOf<String>()
        for (e in errors) {
            val view = errorViews.firstOrNull { (name, _) -> e.field == name || e.field.startsWith("$name.") }?.second
            if (view == null) other += e.message else byView.getOrPut(view) { mutableListOf() } += e.message
        }
        for ((_, id) in errorViews) {
            val text = byView[id]?.joinToString("\n")
            findViewById<TextView>(id).apply {
                this.text = text ?: ""
                visibility = if (text == null) View.GONE else View.VISIBLE
            }
        }
        val summary = findViewById<TextView>(R.id.summary)
        summary.text = if (errors.isEmpty()) "" else (listOf(getString(R.string.referral_errors, errors.size)) + other).joinToString("\n")
    }

    private fun say(text: String?) {
        findViewById<TextView>(R.id.message).text = text ?: ""
    }

    private fun text(id: Int): String = findViewById<EditText>(id).text.toString()

    private fun optional(id: Int): String? = text(id).trim().ifEmpty { null }

    /** The form as typed. An age that is not a number is passed on as typed would be: absent, and the core says it is needed. */
    private fun form(): ReferralForm {
        val reasons = reasonBoxes.filter { (id, _) -> findViewById<CheckBox>(id).isChecked }.map { it.second }.toMutableList()
        if (findViewById<CheckBox>(R.id.reason_other).isChecked) reasons += ReferralReason.Other(text(R.id.reason_other_text))
        val why = text(R.id.consent_reason)
        val consent = when (findViewById<RadioGroup>(R.id.consent).checkedRadioButtonId) {
            R.id.consent_given -> Consent.Given
            R.id.consent_refused -> Consent.Refused(why)
            R.id.consent_not_sought -> Consent.NotSought(why)
            else -> null
        }
        val urgency = when (findViewById<RadioGroup>(R.id.urgency).checkedRadioButtonId) {
            R.id.urgency_routine -> Urgency.ROUTINE
            R.id.urgency_priority -> Urgency.PRIORITY
            R.id.urgency_urgent -> Urgency.URGENT
            else -> null
        }
        val spinner = findViewById<Spinner>(R.id.authority).selectedItemPosition
        return ReferralForm(
            subject = Subject(
                name = text(R.id.name),
                dateOfBirth = optional(R.id.dob),
                estimatedAge = optional(R.id.age)?.toIntOrNull(),
                address = optional(R.id.address),
                school = optional(R.id.school),
                carerContact = optional(R.id.carer),
            ),
            reasons = reasons,
            narrative = text(R.id.narrative),
            consent = consent,
            safeguardingConcern = findViewById<CheckBox>(R.id.safeguarding).isChecked,
            urgency = urgency,
            location = location,
            authorityChoice = if (spinner > 0) Authority.entries[spinner - 1] else null,
        )
    }

    private fun fill(f: ReferralForm) {
        fun set(id: Int, value: String?) = findViewById<EditText>(id).setText(value ?: "")
        set(R.id.name, f.subject.name)
        set(R.id.dob, f.subject.dateOfBirth)
        set(R.id.age, f.subject.estimatedAge?.toString())
        set(R.id.address, f.subject.address)
        set(R.id.school, f.subject.school)
        set(R.id.carer, f.subject.carerContact)
        for ((id, reason) in reasonBoxes) findViewById<CheckBox>(id).isChecked = reason in f.reasons
        val other = f.reasons.filterIsInstance<ReferralReason.Other>().firstOrNull()
        findViewById<CheckBox>(R.id.reason_other).isChecked = other != null
        set(R.id.reason_other_text, other?.text)
        set(R.id.narrative, f.narrative)
        when (val c = f.consent) {
            is Consent.Given -> findViewById<RadioGroup>(R.id.consent).check(R.id.consent_given)
            is Consent.Refused -> findViewById<RadioGroup>(R.id.consent).check(R.id.consent_refused).also { set(R.id.consent_reason, c.reason) }
            is Consent.NotSought -> findViewById<RadioGroup>(R.id.consent).check(R.id.consent_not_sought).also { set(R.id.consent_reason, c.reason) }
            null -> Unit
        }
        findViewById<CheckBox>(R.id.safeguarding).isChecked = f.safeguardingConcern
        when (f.urgency) {
            Urgency.ROUTINE -> findViewById<RadioGroup>(R.id.urgency).check(R.id.urgency_routine)
            Urgency.PRIORITY -> findViewById<RadioGroup>(R.id.urgency).check(R.id.urgency_priority)
            Urgency.URGENT -> findViewById<RadioGroup>(R.id.urgency).check(R.id.urgency_urgent)
            null -> Unit
        }
        location = f.location
        findViewById<CheckBox>(R.id.use_location).isChecked = f.location != null
        f.authorityChoice?.let { findViewById<Spinner>(R.id.authority).setSelection(it.ordinal + 1) }
    }

    companion object {
        const val EXTRA_DRAFT = "draft_id"
        private const val STATE_DRAFT = "draft_id"
    }
}
