"""The scheduler on plain data: round robin across people, first in first out for each,
and model affinity that never passes anyone over more than the window."""

from datetime import datetime, timedelta

from generation.scheduler import FIFO, QueuedJob, choose, claim_candidates, fair_order

T0 = datetime(2026, 1, 1, 12, 0)
SD15, SDXL = ("sd15-folder", "sd15", ""), ("sdxl-folder", "sdxl", "")


def jobs(*owners_and_models) -> list[QueuedJob]:
    """jobs(("ann", SD15), ("ben", SDXL), …) queued in that order, a second apart."""
    return [
        QueuedJob(id=number, owner=owner, model=model, queued=(T0 + timedelta(seconds=number), number))
        for number, (owner, model) in enumerate(owners_and_models, start=1)
    ]


def owners(order) -> str:
    return "".join(job.owner[0] for job in order)


def test_ten_jobs_of_one_person_do_not_hold_back_two_others():
    queue = jobs(*[("ann", SD15)] * 10, ("ben", SD15), ("cat", SD15))

    assert owners(fair_order(queue, {})) == "abc" + "a" * 9


def test_each_person_is_served_first_in_first_out():
    queue = jobs(("ann", SD15), ("ben", SD15), ("ann", SDXL), ("ben", SDXL))

    assert [job.id for job in fair_order(queue, {})] == [1, 2, 3, 4]


def test_who_waited_longest_since_their_last_start_goes_first():
    queue = jobs(("ann", SD15), ("ben", SD15), ("cat", SD15))
    last = {"ann": T0 - timedelta(minutes=1), "ben": T0 - timedelta(minutes=5)}  # cat never ran anything

    assert owners(fair_order(queue, last)) == "cba"


def test_first_in_first_out_is_still_there_for_comparison():
    queue = jobs(*[("ann", SD15)] * 3, ("ben", SD15))

    assert owners(fair_order(queue, {}, FIFO)) == "aaab"


def test_a_worker_prefers_the_model_it_holds_among_the_heads_of_the_lines():
    order = fair_order(jobs(("ann", SDXL), ("ben", SD15)), {})

    chosen, passed = choose(order, loaded={SD15}, window=2)

    assert (chosen.owner, [job.owner for job in passed]) == ("ben", ["ann"])


def test_affinity_never_takes_a_persons_second_job_before_their_first():
    order = fair_order(jobs(("ann", SDXL), ("ann", SD15)), {})

    assert choose(order, loaded={SD15}, window=2)[0].id == 1


def test_a_job_passed_over_window_times_goes_first():
    ann, ben = jobs(("ann", SDXL), ("ben", SD15))
    order = [QueuedJob(**{**ann.__dict__, "passed_over": 2}), ben]

    assert choose(order, loaded={SD15}, window=2)[0].owner == "ann"
    assert choose(order, loaded={SD15}, window=3)[0].owner == "ben"


def test_a_worker_holding_nothing_takes_the_fair_turn():
    order = fair_order(jobs(("ann", SDXL), ("ben", SD15)), {})

    assert choose(order, loaded=set(), window=2) == (order[0], [])


def test_candidates_fall_back_to_the_fair_order_when_another_worker_was_faster():
    order = fair_order(jobs(("ann", SDXL), ("ben", SD15), ("cat", SDXL)), {})

    candidates, passed = claim_candidates(order, loaded={SD15}, window=2)

    assert [job.owner for job in candidates] == ["ben", "ann", "cat"]
    assert [job.owner for job in passed] == ["ann"]


def test_an_empty_queue_offers_nothing():
    assert claim_candidates([], loaded={SD15}, window=2) == ([], [])
