"""The borrower behaviour model: deterministic for a seed, calibrated, reacting to contacts (no moto)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from localcloud.behaviour_model import (
    FATIGUE_FREE,
    HARDSHIP_REASONS,
    BorrowerModel,
    Calibration,
    Contact,
    calibrate,
    hardship_reason,
)
from localcloud.book import Behaviour

DAY = date(2026, 3, 10)


def _at(day: date, hour: int = 18) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _model(seed: int = 3, behaviour: Behaviour = Behaviour.LATE) -> BorrowerModel:
    model = BorrowerModel.seeded(seed, "B000001", behaviour, DAY)
    model.shock_until = None  # no income shock, whatever the draw: the tests below set their own
    model._shock_checked = DAY + timedelta(days=365)  # and no new one during the test
    return model


def _run(model: BorrowerModel, days: int) -> list[bool]:
    return [model.pays_overdue(DAY + timedelta(days=n)) for n in range(1, days + 1)]


def test_the_same_seed_gives_the_same_borrower_and_the_same_choices() -> None:
    def story(seed: int) -> tuple[object, ...]:
        model = BorrowerModel.seeded(seed, "B000042", Behaviour.NEVER, DAY)
        intents = [model.contacted(Contact(_at(DAY + timedelta(days=n)), "SMS")) for n in range(8)]
        calls = [model.call_result(hour) for hour in (9, 13, 19, 20)]
        payments = [model.pays_overdue(DAY + timedelta(days=n)) for n in range(1, 30)]
        return (model.willingness, model.reach, model.shock_until, intents, calls, payments)

    assert story(11) == story(11)
    assert story(11) != story(12)
    assert calibrate(300, 5) == calibrate(300, 5)


def test_a_contact_raises_the_payment_probability_in_the_following_days() -> None:
    model = _model()
    day = DAY + timedelta(days=10)
    before = model.hazard(day)
    model.contacted(Contact(_at(day - timedelta(days=1)), "SMS"))
    after = model.hazard(day)
    assert after > before
    # It fades: four days later the lift is smaller, after LIFT_DAYS it is gone.
    assert before < model.hazard(day + timedelta(days=3)) < after
    assert model.hazard(day + timedelta(days=10)) == pytest.approx(before)
    # A conversation lifts more than a text.
    talked = _model()
    talked.contacted(Contact(_at(day - timedelta(days=1)), "CALL", conversation=True))
    assert talked.hazard(day) > after


def test_repeated_contacts_lift_less_each_contact_fatigue() -> None:
    day = DAY + timedelta(days=10)
    few, many = _model(), _model()
    for n in range(FATIGUE_FREE):
        few.contacted(Contact(_at(day - timedelta(days=1), 9 + n), "SMS"))
    for n in range(FATIGUE_FREE + 4):
        many.contacted(Contact(_at(day - timedelta(days=1), 9 + n), "SMS"))
    per_contact_few = few.lift(day) / FATIGUE_FREE
    per_contact_many = many.lift(day) / (FATIGUE_FREE + 4)
    assert per_contact_many < per_contact_few
    assert many.lift(day) < few.lift(day)  # beyond the fatigue point more contacts even lift less in all


def test_an_income_shock_lowers_the_ability_to_pay_for_weeks() -> None:
    model = _model()
    able = model.hazard(DAY)
    model.shock_until = DAY + timedelta(days=30)
    assert model.ability(DAY + timedelta(days=5)) < 1.0
    assert model.hazard(DAY + timedelta(days=5)) < able
    assert model.ability(DAY + timedelta(days=31)) == 1.0


def test_a_conversation_can_end_in_a_promise_kept_or_broken() -> None:
    kept = broken = 0
    for seed in range(200):
        model = _model(seed)
        intents = model.contacted(Contact(_at(DAY), "CALL", conversation=True))
        promises = [i for i in intents if i.kind == "promise_to_pay"]
        if not promises:
            continue
        (promise,) = promises
        assert promise.until is not None
        assert DAY < promise.until <= DAY + timedelta(days=10)
        paid = next((n for n, p in enumerate(_run(model, 12), start=1) if p), None)
        if promise.keep:
            kept += 1
            assert paid is not None
            assert DAY + timedelta(days=paid) <= promise.until
        else:
            broken += 1
    assert kept > 0
    assert broken > 0


def test_contacted_too_often_a_borrower_complains_and_opts_out() -> None:
    complaints = opt_outs = 0
    for seed in range(100):
        model = _model(seed)
        for n in range(15):
            for intent in model.contacted(Contact(_at(DAY + timedelta(days=n // 3), 9 + n % 3), "SMS")):
                complaints += intent.kind == "complaint"
                opt_outs += intent.kind == "opt_out"
    assert complaints > 0
    assert opt_outs > 0
    calm = 0
    for seed in range(100):
        model = _model(seed)
        for n in range(3):  # one text a week: never beyond the fatigue point
            for intent in model.contacted(Contact(_at(DAY + timedelta(days=7 * n)), "SMS")):
                calm += intent.kind in ("complaint", "opt_out")
    assert calm == 0


def test_plan_instalments_are_kept_more_by_the_willing_and_less_during_a_shock() -> None:
    def kept(willingness: float, shocked: bool) -> float:
        hits = 0
        for n in range(400):
            model = BorrowerModel.seeded(n, f"B{n:06d}", Behaviour.LATE, DAY)
            model.willingness = willingness
            model.shock_until = DAY + timedelta(days=30) if shocked else None
            model._shock_checked = DAY + timedelta(days=365)  # no new shock: the case is set above
            hits += model.keeps_plan_instalment(DAY)
        return hits / 400

    # (0.45 + 0.4 x willingness) x plan ability (0.7 in a shock): 0.81, 0.53, 0.57, 0.37
    willing, reluctant = kept(0.9, False), kept(0.2, False)
    assert willing == pytest.approx(0.81, abs=0.06)
    assert reluctant == pytest.approx(0.53, abs=0.06)
    assert kept(0.9, True) == pytest.approx(0.57, abs=0.06)
    assert kept(0.2, True) < reluctant < willing


def test_a_borrower_in_a_shock_cannot_pay_in_full_and_tells_the_same_reason_everywhere() -> None:
    model = _model()
    assert model.can_pay_in_full(DAY)
    model.shock_until = DAY + timedelta(days=20)
    assert not model.can_pay_in_full(DAY + timedelta(days=5))
    assert model.can_pay_in_full(DAY + timedelta(days=21))
    # the reason code is drawn from the borrower id alone (the API and a desk call say the same)
    assert hardship_reason("B000001") == hardship_reason("B000001") in HARDSHIP_REASONS
    assert len({hardship_reason(f"B{n:06d}") for n in range(50)}) == len(HARDSHIP_REASONS)
    taken = sum(BorrowerModel.seeded(n, f"B{n:06d}", Behaviour.LATE, DAY).takes_plan() for n in range(300))
    assert 0.6 < taken / 300 < 0.95  # 0.4 + 0.5 x willingness (0.45-0.85): 0.63-0.83


def test_calls_reach_the_borrower_more_often_in_the_evening() -> None:
    model = _model(seed=1, behaviour=Behaviour.ON_TIME)
    morning = sum(model.call_result(13)[0] == "connected_borrower" for _ in range(3000))
    evening = sum(model.call_result(19)[0] == "connected_borrower" for _ in range(3000))
    assert evening > morning * 1.5


# -- calibration: the targets of docs/simulation.md, from the model alone ---------------------------


@pytest.fixture(scope="module")
def contacted() -> Calibration:
    return calibrate(3000, 7)


@pytest.fixture(scope="module")
def uncontacted() -> Calibration:
    return calibrate(3000, 7, cadence=())


def test_most_lightly_delinquent_accounts_self_cure(uncontacted: Calibration) -> None:
    c = uncontacted
    assert 0.5 <= c.cure_rate_30 <= 0.7


def test_about_one_in_five_accounts_30_days_late_rolls_to_60(contacted: Calibration) -> None:
    assert 0.15 <= contacted.roll_30_60 <= 0.32


def test_contacts_cure_more_than_no_contact(contacted: Calibration, uncontacted: Calibration) -> None:
    assert contacted.cure_rate_30 > uncontacted.cure_rate_30 + 0.03


def test_right_party_contact_on_a_minority_of_dials_and_most_promises_kept(contacted: Calibration) -> None:
    c = contacted
    assert 0.15 <= c.right_party_contact_rate <= 0.35
    assert 0.5 <= c.promise_kept_rate <= 0.7
