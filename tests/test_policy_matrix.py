"""Every item of a bulk request is judged as the single-object request it stands for, whatever
path the batch takes, and the database agrees with the body.

Each case sends one policy's batch and, for every item, its single-object twin: sent by the same
user at the time the item runs, in a savepoint rolled back afterwards. The item's status, errors
and code must be the twin's, and the rows after the batch the rows after the twins. A twin's 400
is the item's 409 (uniqueness) or 422. An upsert item is a PUT of the object holding its key
where the queryset of a PUT (action ``update``) returns one, else a POST; the whole upsert also
needs a PUT's request-level permission, so where that is refused the whole request is 403.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models.signals import post_save
from rest_framework import status
from rest_framework.test import APIClient

from drf_multistatus.models import BulkJob, BulkJobChunk
from drf_multistatus.worker import run_job
from tests.testapp import views
from tests.testapp.models import Doc

pytestmark = pytest.mark.django_db

MISSING = 10**6  # the id of no doc
USER_INACTIVE = "Not run: the user who submitted this job is inactive or deleted."


@dataclasses.dataclass(frozen=True)
class Policy:
    """A viewset with one policy, and who sends the requests."""

    name: str
    prefix: str
    view: type
    actor: str | None  # None: an anonymous client

    @property
    def url(self) -> str:
        return f"/test/{self.prefix}/"


POLICIES = [
    Policy("owner-by-action", "docs-by-action", views.ActionOwnerDocViewSet, "ann"),
    Policy("owner-by-method", "docs-by-method", views.MethodOwnerDocViewSet, "ann"),
    Policy("write-scoped-queryset", "docs-write-scoped", views.WriteScopedDocViewSet, "ann"),
    Policy("staff-writes-as-user", "docs-staff-writes", views.StaffWritesDocViewSet, "ann"),
    Policy("staff-writes-as-staff", "docs-staff-writes", views.StaffWritesDocViewSet, "sam"),
    Policy("authenticated", "docs-authenticated", views.AuthenticatedDocViewSet, "ann"),
    Policy("anonymous", "docs-authenticated", views.AuthenticatedDocViewSet, None),
]
BY_NAME = {policy.name: policy for policy in POLICIES}

#: The targets of each verb's items; ``all`` is one batch of every other target.
TARGETS = {
    "put": ("mine", "theirs", "missing"),
    "patch": ("mine", "theirs", "missing"),
    "delete": ("mine", "theirs", "missing"),
    "upsert": ("mine", "theirs", "new", "null"),
}


@dataclasses.dataclass(frozen=True)
class Mode:
    """How the batch runs: synchronously or as a job, item by item or all-or-nothing."""

    name: str
    atomic: bool = False
    job: bool = False


MODES = [
    Mode("sync"),
    Mode("atomic", atomic=True),
    Mode("job", job=True),
    Mode("atomic-job", atomic=True, job=True),
]


def matrix() -> Iterator[Any]:
    """Every policy, verb and target on the set-based path; the mixed batches (``all``) on the
    per-item path too. Anonymous clients are refused whole, whatever the target."""
    for policy in POLICIES:
        for verb, targets in TARGETS.items():
            for target in (*targets, "all") if policy.actor else ("all",):
                for write in ("set-based", "per-item") if target == "all" else ("set-based",):
                    yield pytest.param(
                        policy, verb, target, write, id=f"{policy.name}-{verb}-{target}-{write}"
                    )


MATRIX = list(matrix())


@dataclasses.dataclass(frozen=True)
class Outcome:
    """An answer, as an item gets it: its status; for a failure its errors and the code of a
    failure of the item as a whole; for a success its data (without the id, which a rolled-back
    twin's create need not share) and, for an existing object, its href."""

    status: int
    errors: Any = None
    code: str | None = None
    data: Any = None
    href: str | None = None


@dataclasses.dataclass(frozen=True)
class Expected:
    """A whole-request refusal, or the items' outcomes; and the rows afterwards."""

    whole: Outcome | None
    items: list[Outcome]
    rows: list[tuple[Any, ...]]

    def in_a_job(self, count: int) -> list[Outcome]:
        """A job, accepted already, answers a refusal of its whole request with every item."""
        return [self.whole] * count if self.whole else self.items


class World:
    """The users and docs of one case: ann owns ``mine``, bob ``theirs`` and one doc without a
    key; sam is staff; audit, staff too, reads every job."""

    def __init__(self) -> None:
        model = get_user_model()
        self.users = {
            name: model.objects.create(username=name, is_staff=name in ("sam", "audit"))
            for name in ("ann", "bob", "sam", "audit")
        }
        ann, bob = self.users["ann"], self.users["bob"]
        self.docs = {
            "mine": Doc.objects.create(owner=ann, key="k-mine", title="Mine"),
            "theirs": Doc.objects.create(owner=bob, key="k-theirs", title="Theirs"),
            "unkeyed": Doc.objects.create(owner=bob, key=None, title="Unkeyed"),
        }
        self.known = {doc.pk for doc in self.docs.values()}

    def user(self, name: str | None) -> Any:
        """The user as the database holds it now (None: anonymous)."""
        return get_user_model().objects.get(username=name) if name else None

    def rows(self) -> list[tuple[Any, ...]]:
        """Every doc, a new one without its id."""
        return sorted(
            (
                (doc.pk if doc.pk in self.known else "new", doc.key, doc.title, doc.owner_id)
                for doc in Doc.objects.all()
            ),
            key=repr,
        )

    def items(self, verb: str, target: str) -> list[dict[str, Any]]:
        return [self.item(verb, one) for one in (TARGETS[verb] if target == "all" else (target,))]

    def item(self, verb: str, target: str) -> dict[str, Any]:
        if verb == "upsert":
            key = {"mine": "k-mine", "theirs": "k-theirs", "new": "k-new", "null": None}[target]
            return {"key": key, "title": f"upserted {target}"}
        doc = self.docs.get(target)
        pk = doc.pk if doc else MISSING
        return {
            "put": {"id": pk, "key": doc.key if doc else "k-missing", "title": "put"},
            "patch": {"id": pk, "title": "patched"},
            "delete": {"id": pk},
        }[verb]


@pytest.fixture
def world(db, settings) -> World:
    settings.DRF_MULTISTATUS = {"JOB_CHUNK_SIZE": 2}  # the mixed batches run in two chunks
    return World()


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# The single-object twins ---------------------------------------------------------------------


def put_scope(policy: Policy, user: Any) -> Any:
    """What ``get_queryset()`` returns for a PUT: the objects an upsert item may replace."""
    view = policy.view(action="update")
    view.request = SimpleNamespace(user=user or AnonymousUser(), method="PUT")
    return view.get_queryset()


def refusal(client: APIClient, policy: Policy, verb: str) -> Outcome | None:
    """The request-level refusal of the batch's single-object requests (a detail URL of no
    object reaches ``has_permission`` only), or None. An upsert needs a POST's and a PUT's."""
    nothing = f"{policy.url}{MISSING}/"
    probes = {
        "put": [lambda: client.put(nothing, {}, format="json")],
        "patch": [lambda: client.patch(nothing, {}, format="json")],
        "delete": [lambda: client.delete(nothing)],
        "upsert": [
            lambda: client.post(policy.url, {}, format="json"),
            lambda: client.put(nothing, {}, format="json"),
        ],
    }[verb]
    for probe in probes:
        response = probe()
        if response.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
            return as_item(response)
    return None


def twin(client: APIClient, policy: Policy, verb: str, item: dict[str, Any], scope: Any) -> Any:
    """The single-object request ``item`` stands for."""
    if verb == "upsert":
        held = scope.filter(key=item["key"]).first() if item["key"] is not None else None
        if held is None:
            return client.post(policy.url, item, format="json")
        return client.put(f"{policy.url}{held.pk}/", item, format="json")
    url = f"{policy.url}{item['id']}/"
    if verb == "delete":
        return client.delete(url)
    body = {name: value for name, value in item.items() if name != "id"}
    return getattr(client, verb)(url, body, format="json")


def as_item(response: Any) -> Outcome:
    """A single-object answer as a bulk item reports it."""
    code = response.status_code
    if code >= 400:
        data = response.data
        if code == status.HTTP_400_BAD_REQUEST:
            unique = error_codes(data) == {"unique"}
            code = status.HTTP_409_CONFLICT if unique else status.HTTP_422_UNPROCESSABLE_ENTITY
        detail = data.get("detail") if isinstance(data, dict) else None
        return Outcome(code, response.json(), getattr(detail, "code", None))
    href = None if code == status.HTTP_201_CREATED else response.wsgi_request.build_absolute_uri()
    return Outcome(code, data=without_id(response.json() if response.content else None), href=href)


def error_codes(data: Any) -> set[str]:
    if isinstance(data, dict):
        return set().union(*map(error_codes, data.values()))
    if isinstance(data, list):
        return set().union(*map(error_codes, data))
    return {data.code}


def without_id(data: Any) -> Any:
    return {name: value for name, value in data.items() if name != "id"} if data else data


def expect(
    world: World, policy: Policy, verb: str, items: list[dict[str, Any]], atomic: bool, user: Any
) -> Expected:
    """The twins' answers and the rows they leave, as ``user`` would get them now; nothing they
    write is kept."""
    before = world.rows()
    client = client_for(user)
    with transaction.atomic():
        whole = refusal(client, policy, verb)
        scope = put_scope(policy, user)
        outcomes = [] if whole else [as_item(twin(client, policy, verb, i, scope)) for i in items]
        after = world.rows()
        transaction.set_rollback(True)
    failed = [index for index, outcome in enumerate(outcomes) if outcome.status >= 400]
    if whole or (atomic and failed):
        after = before
    if atomic and failed:
        dependency = {
            "detail": "Not saved: this batch is all-or-nothing and "
            f"{len(failed)} item(s) failed (first failed item: {failed[0]})."
        }
        outcomes = [
            outcome
            if outcome.status >= 400
            else Outcome(status.HTTP_424_FAILED_DEPENDENCY, dependency, "failed_dependency")
            for outcome in outcomes
        ]
    return Expected(whole, outcomes, after)


# The batches ---------------------------------------------------------------------------------


def send_bulk(
    client: APIClient, policy: Policy, verb: str, items: list[dict[str, Any]], mode: Mode
) -> Any:
    prefer = ["respond-async"] if mode.job else []
    if verb == "upsert":
        prefer.append("resolution=merge-duplicates")
    url = policy.url + ("?atomic=true" if mode.atomic else "")
    headers = {"HTTP_PREFER": ", ".join(prefer)} if prefer else {}
    method = "post" if verb == "upsert" else verb
    return getattr(client, method)(url, items, format="json", **headers)


def run(world: World, submitted: Any) -> Any:
    """Run a submitted job now, in this process, and read its answer."""
    assert submitted.status_code == status.HTTP_202_ACCEPTED, submitted.content
    run_job(submitted.json()["id"])
    return client_for(world.users["audit"]).get(submitted["Location"])


def assert_items(response: Any, expected: list[Outcome]) -> None:
    assert response.status_code == status.HTTP_207_MULTI_STATUS, response.content
    results = response.json()["results"]
    assert [result["index"] for result in results] == list(range(len(expected)))
    seen = [
        Outcome(
            result["status"],
            result.get("errors"),
            result.get("code"),
            without_id(result.get("data")),
            result.get("href") if outcome.href else None,
        )
        for result, outcome in zip(results, expected, strict=True)
    ]
    assert seen == expected


def assert_whole(response: Any, whole: Outcome) -> None:
    assert (response.status_code, response.json()) == (whole.status, whole.errors)


# The matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.name)
@pytest.mark.parametrize(("policy", "verb", "target", "write"), MATRIX)
def test_every_item_is_answered_as_its_single_object_twin(
    world, monkeypatch, policy, verb, target, write, mode
):
    """Synchronous, atomic, in a job, atomic in a job, set-based or per item: each item gets its
    twin's answer (424 in an atomic batch with a failure), a refusal of the twins' request is
    the whole request's (and no job is made), and the rows are those the twins leave."""
    if write == "per-item":
        monkeypatch.setattr(policy.view, "bulk_write", False)
    user = world.user(policy.actor)
    items = world.items(verb, target)
    client = client_for(user)
    if not mode.job:
        expected = expect(world, policy, verb, items, mode.atomic, user)
        response = send_bulk(client, policy, verb, items, mode)
    else:
        submitted = send_bulk(client, policy, verb, items, mode)
        expected = expect(world, policy, verb, items, mode.atomic, user)
        if expected.whole:
            response = submitted
            assert not BulkJob.objects.exists()
        else:
            response = run(world, submitted)
    if expected.whole:
        assert_whole(response, expected.whole)
    else:
        assert_items(response, expected.items)
    assert world.rows() == expected.rows


CHANGES = [
    *(
        pytest.param(BY_NAME[name], change, id=f"{name}-{change}")
        for name in (
            "owner-by-action",
            "owner-by-method",
            "write-scoped-queryset",
            "staff-writes-as-staff",
            "authenticated",
        )
        for change in ("deactivated", "deleted")
    ),
    pytest.param(BY_NAME["staff-writes-as-staff"], "demoted", id="staff-writes-as-staff-demoted"),
]


def change_user(name: str, change: str) -> None:
    users = get_user_model().objects.filter(username=name)
    if change == "deleted":
        users.delete()
    elif change == "deactivated":
        users.update(is_active=False)
    else:
        users.update(is_staff=False)


def expect_after(
    world: World, policy: Policy, change: str, verb: str, items: list[dict[str, Any]], atomic: bool
) -> Expected:
    """What a job's items get from now on: a demoted user's twins' answers; for a user who is
    gone or inactive, 403 ``user_inactive`` and nothing written."""
    if change == "demoted":
        return expect(world, policy, verb, items, atomic, world.user(policy.actor))
    inactive = Outcome(status.HTTP_403_FORBIDDEN, {"detail": USER_INACTIVE}, "user_inactive")
    return Expected(inactive, [], world.rows())


@pytest.mark.parametrize("mode", MODES[2:], ids=lambda mode: mode.name)
@pytest.mark.parametrize("verb", TARGETS)
@pytest.mark.parametrize(("policy", "change"), CHANGES)
def test_a_job_runs_under_the_rules_in_force_when_it_runs(world, policy, change, verb, mode):
    """A job whose user was deactivated or deleted after it was accepted refuses every item
    (403 ``user_inactive``) and writes nothing; one whose user lost staff gets what that user's
    synchronous request gets now."""
    items = world.items(verb, "all")
    submitted = send_bulk(client_for(world.user(policy.actor)), policy, verb, items, mode)
    change_user(policy.actor, change)
    expected = expect_after(world, policy, change, verb, items, mode.atomic)
    assert_items(run(world, submitted), expected.in_a_job(len(items)))
    assert world.rows() == expected.rows


@pytest.mark.parametrize("verb", TARGETS)
@pytest.mark.parametrize(("policy", "change"), CHANGES)
def test_a_job_reads_its_user_again_for_every_chunk(world, policy, change, verb):
    """The user changed once the first chunk (two items) ran: those items keep their twins'
    answers and writes, the later ones are judged as the changed user's."""
    items = world.items(verb, "all")
    user = world.user(policy.actor)
    submitted = send_bulk(client_for(user), policy, verb, items, MODES[2])
    first = expect(world, policy, verb, items[:2], False, user)
    later: list[Expected] = []

    def between_chunks(sender: Any, instance: BulkJobChunk, **kwargs: Any) -> None:
        if instance.start == 0:
            change_user(policy.actor, change)
            later.append(expect_after(world, policy, change, verb, items[2:], False))

    post_save.connect(between_chunks, sender=BulkJobChunk)
    try:
        answer = run(world, submitted)
    finally:
        post_save.disconnect(between_chunks, sender=BulkJobChunk)
    assert_items(answer, first.items + later[0].in_a_job(len(items) - 2))
    assert world.rows() == later[0].rows
