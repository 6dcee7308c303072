"""Referrals and the practice library through the Python bindings, against
the real backend: a referral filed (first with mistakes the form names
field by field), queued, synced and acknowledged; the library published by
the force, pulled by sync, searched and bookmarked offline."""

import asyncio
import time

import pytest

from conftest import REPO, g, signed_in

LIBRARY = REPO / "library"


def now_fix():
    ms = int(time.time() * 1000)
    return g.Fix(time_ms=ms - 60_000, mono_ns=5_000_000_000, lat=52.4776, lon=-1.8990, accuracy_m=8.0)


def synced(force, tmp_path):
    h, events = signed_in(force, tmp_path / "handset.db")
    assert asyncio.run(h.sync_now()).pulled
    assert h.officer() is not None
    return h, events


def test_a_referral_is_refused_field_by_field_then_filed_and_acknowledged(force, tmp_path):
    h, events = synced(force, tmp_path)

    draft = h.save_referral_draft(None, g.ReferralForm(subject=g.Subject(name=""), reasons=[], narrative="short"))
    assert [d.id for d in h.referral_drafts()] == [draft]
    with pytest.raises(g.ReferralError.Invalid) as e:
        asyncio.run(h.submit_referral(draft))
    fields = {f.field: f for f in e.value.fields}
    assert {"subject.name", "reasons", "narrative", "consent", "urgency", "location"} <= set(fields)
    assert fields["subject.name"].problem == g.FieldProblem.REQUIRED()
    assert fields["narrative"].problem == g.FieldProblem.TOO_SHORT(min=10)
    assert fields["narrative"].message.startswith("narrative: ")
    assert h.referral_drafts(), "a refused draft is kept"

    # A draft keeps whatever was typed, a date that is no date included; the
    # submit names the field.
    typed = g.ReferralForm(subject=g.Subject(name="J", date_of_birth="31/02/20"), reasons=[], narrative="")
    assert h.save_referral_draft(draft, typed) == draft
    assert h.referral_draft(draft).subject.date_of_birth == "31/02/20"
    with pytest.raises(g.ReferralError.Invalid) as e:
        asyncio.run(h.submit_referral(draft))
    dob = [f for f in e.value.fields if f.field == "subject.date_of_birth"]
    assert [f.problem for f in dob] == [g.FieldProblem.NOT_A_DATE()]

    form = g.ReferralForm(
        subject=g.Subject(name="Jay Example", estimated_age=15),
        reasons=[g.ReferralReason.KNIFE_CARRYING(), g.ReferralReason.OTHER(text="seen with older youths")],
        narrative="Stopped near the Ramp with a blade; calm, wants help with school.",
        consent=g.Consent.GIVEN(),
        urgency=g.Urgency.PRIORITY,
        location=now_fix(),
        authority_choice=g.Authority.BIRMINGHAM,
    )
    assert h.save_referral_draft(draft, form) == draft
    assert h.referral_draft(draft) == form
    receipt = asyncio.run(h.submit_referral(draft))
    assert receipt.reference.startswith("VRP-")
    assert receipt.status == g.ReferralStatus.QUEUED
    assert receipt.authority == g.Authority.BIRMINGHAM and g.authority_name(receipt.authority) == "Birmingham"
    assert receipt.reasons == [g.ReasonCode.KNIFE_CARRYING, g.ReasonCode.OTHER]
    assert receipt.urgency == g.Urgency.PRIORITY
    assert h.referral_drafts() == []
    with pytest.raises(g.ReferralError.UnknownDraft):
        h.referral_draft(draft)

    passed = asyncio.run(h.sync_now())
    assert passed.acked >= 1 and passed.rejected == 0
    assert h.sync_status().pending == 0
    [kept] = h.referral_receipts()
    assert kept.id == receipt.id and kept.status == g.ReferralStatus.RECEIVED
    assert kept.outcome is None

    # The team closes it with an outcome; the handset shows the code and the
    # team that holds it, never the Navigators' notes.
    team = kept.authority.name.lower()
    force.post(
        "/v1/admin/navigators",
        {"navigator_id": "nav-py", "display_name": "Navigator Py", "authority": team},
        force.token("ops-admin", "admin"),
    )
    assert force.navigator_act("nav-py", kept.id, {"action": "close"}) == 422, "an outcome is required"
    assert force.navigator_act("nav-py", kept.id, {"action": "close", "outcome": "engaged"}) == 303
    asyncio.run(h.sync_now())
    [closed] = h.referral_receipts()
    assert (closed.status, closed.outcome) == (g.ReferralStatus.CLOSED, g.ReferralOutcome.ENGAGED)
    assert g.referral_status_text(closed) == f"Closed by the {g.authority_name(closed.authority)} team: Engaged with support"


def test_the_library_arrives_by_sync_and_is_searched_and_bookmarked_offline(force, tmp_path):
    force.cli("publish-library", str(LIBRARY))
    h, _ = synced(force, tmp_path)
    status = h.library_status()
    assert status.version >= 1 and status.articles > 10

    found = h.library_search("trauma", 10)
    assert found.hits and found.terms
    assert "<mark>" in found.hits[0].title_html + found.hits[0].snippet_html
    view = h.library_open_article(found.hits[0].id)
    assert view.html and view.title == found.hits[0].title and not view.bookmarked
    assert [r.article_id for r in h.library_recent()] == [view.id]
    assert h.library_set_bookmark(view.id, True)
    assert h.library_article(view.id).bookmarked
    assert [b.article_id for b in h.library_bookmarks()] == [view.id]
    topics = h.library_topics()
    assert topics and h.library_topic_articles(topics[0].id) is not None
    assert len(h.library_articles()) == status.articles

    with pytest.raises(g.LibraryError.UnknownArticle):
        h.library_article("no-such-article")
    with pytest.raises(g.LibraryError.BadPack):
        asyncio.run(h.library_apply_pack(b"not a pack"))
    assert h.library_status() == status

    asyncio.run(h.sync_now())
    assert h.sync_status().pending == 0
