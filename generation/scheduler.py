"""Which queued job a worker runs next: fair share across people, first in first out for each
person, and model affinity within a window. Plain data in, an order out; no database here
(generation/queue.py reads the queue, claims and records).

Fair share: the next job is the oldest queued job of the person who has waited longest since
their last job started. Once their job starts they go to the back, so the order is a round
robin over people; someone who never ran anything is at the front.

Affinity: among the jobs at the head of each person's line, a worker prefers one of a model it
already holds, but a job may be passed over at most `window` times; after that it goes first.
"""

from dataclasses import dataclass

FAIR, FIFO = "fair", "fifo"


@dataclass(frozen=True)
class QueuedJob:
    id: int
    owner: int | None  # the person; jobs without one share a line
    model: tuple  # what a worker must hold to run it without a load
    queued: tuple  # sorts first in, first out (e.g. (created_at, id))
    passed_over: int = 0


def fair_order(jobs: list[QueuedJob], last_started: dict, policy: str = FAIR) -> list[QueuedJob]:
    """All queued jobs in the order they would start if every worker were the same.

    `last_started` maps a person to when their last job started (missing: never).
    """
    by_age = sorted(jobs, key=lambda job: job.queued)
    if policy == FIFO:
        return by_age
    lines: dict = {}
    for job in by_age:
        lines.setdefault(job.owner, []).append(job)

    def waited_longest(owner):  # never started first, then the earliest last start, then the oldest job
        last = last_started.get(owner)
        return (last is not None, last or 0, lines[owner][0].queued)

    turn = sorted(lines, key=waited_longest)
    order = []
    for round_ in range(max((len(line) for line in lines.values()), default=0)):
        order.extend(lines[owner][round_] for owner in turn if round_ < len(lines[owner]))
    return order


def choose(order: list[QueuedJob], loaded: set, window: int, policy: str = FAIR) -> tuple[QueuedJob | None, list]:
    """The job a worker holding the models `loaded` should take, and the jobs it passes over.

    Only the head of each person's line may be taken (first in, first out per person).
    """
    if not order:
        return None, []
    if policy == FIFO or not loaded or window <= 0:
        return order[0], []
    heads, owners = [], set()
    for job in order:
        if job.owner not in owners:
            owners.add(job.owner)
            heads.append(job)
    for index, job in enumerate(heads):
        if job.model in loaded:
            return job, heads[:index]
        if job.passed_over >= window:
            break  # this one may not wait any longer
    return order[0], []


def claim_candidates(order: list[QueuedJob], loaded: set, window: int, policy: str = FAIR) -> tuple[list, list]:
    """Jobs to try in turn (the chosen one first, then the fair order, for when another worker
    claims one first) and the jobs passed over if the first is the one claimed."""
    chosen, passed = choose(order, loaded, window, policy)
    if chosen is None:
        return [], []
    return [chosen] + [job for job in order if job.id != chosen.id], passed
