"""The matcher's decision for one record from its scored candidates (DOMAIN.md
"Matching people"), on hand-made candidates: an identifier is only a candidate
to confirm; a probabilistic link needs the score, the margin, a resident and
the birth date; everything else goes to review or back to the clinic."""

from __future__ import annotations

from kenshin.matching.matcher import Candidate, decide

# Thresholds of the test, not of the city: the decision reads them from settings.
SETTINGS = {"link_score": 28, "review_score": 18, "min_margin": 8, "review_candidates": 2,
            "link_requires": {"birth_date": ["exact", "month_day_swapped", "one_digit"]}}
SAME = dict(name_kana="exact", name_kanji="exact", birth_date="exact", sex="exact", postal_code="exact",
            address="exact")


def cand(addressee_id: str, score: float, status: int = 1, **levels) -> Candidate:
    return Candidate(line_no=7, addressee_id=addressee_id, status=status, score=score, **{**SAME, **levels})


def test_an_addressee_id_confirmed_by_birth_date_sex_and_one_close_name_links():
    c = cand("0000000001", 12.5, name_kana="two_edits", name_kanji="one_edit", address="different")
    d = decide(7, ("0000000001", None), [c], "0000000001", SETTINGS)
    assert (d.outcome, d.addressee_id, d.method, d.score) == ("linked", "0000000001", "addressee_id", 12.5)


def test_a_voucher_number_is_confirmed_the_same_way():
    c = cand("0000000002", 30.0)
    d = decide(7, (None, "V0001"), [c], "0000000002", SETTINGS)
    assert (d.outcome, d.method) == ("linked", "voucher")


def test_an_identifier_whose_names_both_disagree_goes_to_review_with_the_fields():
    c = cand("0000000001", 40.0, name_kana="two_edits", name_kanji="different")
    d = decide(7, ("0000000001", None), [c], "0000000001", SETTINGS)
    assert d.outcome == "review" and d.addressee_id is None
    assert d.reason == "the addressee id given is not confirmed: name_kana, name_kanji disagree"
    assert d.candidates == [{"addressee_id": "0000000001", "score": 40.0, "disagree": ["name_kana", "name_kanji"]}]


def test_an_identifier_with_another_birth_date_is_not_confirmed_whatever_the_score():
    c = cand("0000000001", 60.0, birth_date="one_digit")
    assert decide(7, ("0000000001", None), [c], "0000000001", SETTINGS).outcome == "review"


def test_an_identifier_of_a_person_who_had_moved_out_goes_to_review():
    c = cand("0000000001", 40.0, status=2)
    d = decide(7, ("0000000001", None), [c], "0000000001", SETTINGS)
    assert (d.outcome, d.reason) == ("review", "the person was not a resident on the exam date")


def test_an_identifier_naming_nobody_on_the_exam_date_goes_to_review():
    d = decide(7, ("0000000009", None), [cand("0000000001", 40.0)], "0000000009", SETTINGS)
    assert (d.outcome, d.reason) == ("review", "the addressee id given names nobody in the ledger on the exam date")


def test_no_candidate_is_returned_to_the_clinic():
    d = decide(7, (None, None), [], None, SETTINGS)
    assert (d.outcome, d.reason) == ("returned", "no resident matches name, birth date and sex")


def test_a_clear_best_candidate_above_the_link_score_links_with_its_margin():
    d = decide(7, (None, None), [cand("0000000001", 30.0), cand("0000000002", 22.0)], None, SETTINGS)
    assert (d.outcome, d.addressee_id, d.method, d.score, d.margin) == (
        "linked", "0000000001", "probabilistic", 30.0, 8.0)


def test_two_candidates_too_close_go_to_review_with_the_top_candidates_only():
    cands = [cand("0000000001", 30.0), cand("0000000002", 22.5), cand("0000000003", 19.0)]
    d = decide(7, (None, None), cands, None, SETTINGS)
    assert (d.outcome, d.reason) == ("review", "two candidates score too close to tell apart")
    assert [c["addressee_id"] for c in d.candidates] == ["0000000001", "0000000002"]


def test_a_namesake_at_the_same_address_born_on_another_day_is_not_linked():
    d = decide(7, (None, None), [cand("0000000001", 35.0, birth_date="different")], None, SETTINGS)
    assert (d.outcome, d.reason) == ("review", "the best candidate's birth_date disagrees")


def test_a_best_candidate_who_was_not_a_resident_is_never_linked_automatically():
    d = decide(7, (None, None), [cand("0000000001", 35.0, status=3)], None, SETTINGS)
    assert (d.outcome, d.reason) == ("review", "the best candidate was not a resident on the exam date")


def test_between_the_review_and_link_scores_goes_to_review():
    d = decide(7, (None, None), [cand("0000000001", 18.0)], None, SETTINGS)
    assert (d.outcome, d.reason) == ("review", "the best candidate's score is between the review and link thresholds")


def test_below_the_review_score_is_returned():
    d = decide(7, (None, None), [cand("0000000001", 17.99)], None, SETTINGS)
    assert (d.outcome, d.score) == ("returned", 17.99)
