"""The project's history (filters, search, pages) and side-by-side model comparisons."""

import re

import pytest
from django.core.exceptions import ValidationError

from generation import selectors, submission
from generation.models import Comparison, GenerationSession, ModelEntry

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture
def second_model(tiny_family_dir) -> ModelEntry:
    return ModelEntry.objects.create(
        name="Tiny SD 2.1", family="sd21", source=str(tiny_family_dir("sd21")), default_steps=3,
        default_width=64, default_height=64,
    )  # fmt: skip


@pytest.fixture
def history(team, second_model, submit, run):
    """Four sessions: by bob and alice, two models, two modes, one prompt each; the first ran."""
    made = [
        submit(prompt="a red barn", steps=2),
        submit(user=team.alice, model=second_model, prompt="a blue lake", steps=2),
        submit(model=second_model, prompt="Barn owl at night", steps=2),
    ]
    done = run(made[0])
    made.append(submit(user=team.alice, mode="image_to_image", source_image=done.images.get().id, prompt=""))
    done.images.update(saved=True)
    return made


def listed(project, **query) -> list[int]:
    return [session.id for session in selectors.project_history(project, selectors.HistoryFilters.from_query(query))]


def test_history_filters_by_model_user_mode_saved_and_prompt(team, history, tiny_model, second_model):
    red, blue, owl, variation = (session.id for session in history)

    assert listed(team.project) == [variation, owl, blue, red]
    assert listed(team.project, model=str(second_model.id)) == [owl, blue]
    assert listed(team.project, user=str(team.alice.id)) == [variation, blue]
    assert listed(team.project, mode="image_to_image") == [variation]
    assert listed(team.project, saved="1") == [red]
    assert listed(team.project, q="BARN") == [owl, red]
    assert listed(team.project, q="barn", user=str(team.bob.id), model=str(tiny_model.id)) == [red]
    with pytest.raises(ValidationError) as refused:
        listed(team.project, model="nonsense", mode="nonsense")
    assert set(refused.value.message_dict) == {"model", "mode"}


def test_saved_only_shows_just_the_saved_images(team, generated):
    session = generated(prompt="x", steps=2, num_images=3)
    session.images.filter(index=1).update(saved=True)

    [shown] = selectors.project_history(team.project, selectors.HistoryFilters(saved=True))
    assert [image.index for image in shown.images.all()] == [1]


def test_the_api_history_takes_the_same_filters(team, history, api_as):
    response = api_as(team.vera).get(f"/api/v1/projects/{team.project.id}/generations/?q=barn&user={team.bob.id}")

    assert [session["id"] for session in response.json()["results"]] == [history[2].id, history[0].id]


def history_items(page: str) -> list[str]:
    """The session ids of the page's history list (the empty <template> item has none)."""
    return re.findall(r'class="history-item" data-session="(\d+)"', page)


def test_the_history_page_is_paginated_and_keeps_its_filters(client, team, submit, settings):
    settings.DEEPIMAGE_QUOTA_QUEUED_JOBS = 0  # no limit: 23 jobs wait at once here
    for number in range(23):
        submit(prompt=f"barn {number}")
    client.force_login(team.vera)

    first = client.get(f"/projects/{team.project.id}/?q=barn").content.decode()
    second = client.get(f"/projects/{team.project.id}/?q=barn&page=2").content.decode()

    assert len(history_items(first)) == 20 and "Page 1 of 2" in first
    assert "?q=barn&amp;page=2" in first
    assert len(history_items(second)) == 3 and "barn 0" in second


def test_an_empty_filter_result_says_so(client, team, history):
    client.force_login(team.vera)
    page = client.get(f"/projects/{team.project.id}/?q=zebra").content.decode()
    assert "Nothing matches these filters." in page


def comparisons_url(project) -> str:
    return f"/api/v1/projects/{project.id}/comparisons/"


def test_a_comparison_runs_one_prompt_and_seed_on_each_model(team, api_as, tiny_model, second_model, tiny_adapter, run):
    adapter = ModelEntry.objects.create(
        name="Ink", kind="adapter", origin="customized", source=str(tiny_adapter("lora")), base_model=tiny_model
    )
    body = {
        "prompt": "a lighthouse",
        "num_images": 1,
        "variants": [
            {"model": tiny_model.id},
            {"model": tiny_model.id, "adapters": [{"id": adapter.id, "weight": 0.8}]},
            {"model": second_model.id},
        ],
    }
    response = api_as(team.bob).post(comparisons_url(team.project), body, format="json")

    assert response.status_code == 201, response.content
    columns = response.json()["sessions"]
    assert [column["model"] for column in columns] == [tiny_model.id, tiny_model.id, second_model.id]
    assert len({column["seed"] for column in columns}) == 1 and columns[0]["seed"] >= 0
    assert columns[1]["adapters"][0]["weight"] == 0.8 and columns[0]["adapters"] == []
    assert [column["steps"] for column in columns] == [4, 4, 3]  # each model's own defaults

    for column in columns:
        run(column["id"])
    finished = api_as(team.vera).get(f"/api/v1/comparisons/{response.json()['id']}/").json()
    assert [column["status"] for column in finished["sessions"]] == ["succeeded"] * 3
    assert all(len(column["images"]) == 1 for column in finished["sessions"])


@pytest.mark.parametrize(
    ("variants", "words"),
    [
        ("[]", "Compare 2 to 4 models"),
        ("one", "JSON list"),
        ([{"model": 1}], "Compare 2 to 4 models"),
        ([{"model": "{m}"}] * 5, "Compare 2 to 4 models"),
        ([{"model": "{m}"}, {"model": 999_999}], "Column 2"),
        ([{"model": "{m}"}, {"model": "{s}", "adapters": [{"id": "{a}", "weight": 1}]}], "Column 2"),
    ],
)
def test_bad_comparisons_are_a_400_on_variants_and_write_nothing(
    team, api_as, tiny_model, second_model, tiny_adapter, variants, words, django_capture_on_commit_callbacks
):
    adapter = ModelEntry.objects.create(
        name="Ink", kind="adapter", origin="customized", source=str(tiny_adapter("lora")), base_model=tiny_model
    )
    ids = {"m": tiny_model.id, "s": second_model.id, "a": adapter.id}

    def fill(value):
        if isinstance(value, str) and value.startswith("{"):
            return ids[value[1]]
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    with django_capture_on_commit_callbacks() as queued:
        response = api_as(team.bob).post(
            comparisons_url(team.project), {"prompt": "x", "variants": fill(variants)}, format="json"
        )
    assert response.status_code == 400 and words in str(response.json()["variants"])
    assert not Comparison.objects.exists() and not GenerationSession.objects.exists() and not queued


def test_a_bad_shared_parameter_names_its_own_field(team, api_as, tiny_model, second_model):
    body = {"prompt": "x", "steps": 0, "variants": [{"model": tiny_model.id}, {"model": second_model.id}]}
    response = api_as(team.bob).post(comparisons_url(team.project), body, format="json")

    assert response.status_code == 400 and "steps" in response.json()
    assert not Comparison.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("vera", 403), ("charlie", 404)])
def test_only_writers_compare(team, api_as, tiny_model, who, status):
    body = {"prompt": "x", "variants": [{"model": tiny_model.id}, {"model": tiny_model.id}]}
    assert api_as(getattr(team, who)).post(comparisons_url(team.project), body, format="json").status_code == status


def test_the_comparison_page_shows_columns_with_times_and_the_slider(client, team, tiny_model, second_model, run):
    comparison = submission.comparison_submit(
        user=team.bob, project=team.project, prompt="a lighthouse", num_images=1,
        variants=[{"model": tiny_model.id}, {"model": second_model.id}],
    )  # fmt: skip
    for session in comparison.sessions.all():
        run(session)
    client.force_login(team.vera)

    page = client.get(f"/projects/{team.project.id}/comparisons/{comparison.id}/").content.decode()
    assert page.count('class="column"') == 2 and "Tiny SD 1.5" in page and "Tiny SD 2.1" in page
    assert page.count('class="run-time"') == 2 and 'id="overlay-slider"' in page
    client.force_login(team.charlie)
    assert client.get(f"/projects/{team.project.id}/comparisons/{comparison.id}/").status_code == 404


def test_a_comparison_stores_its_input_once_and_it_goes_with_the_last_column(
    team, tiny_model, second_model, run, stored_files, django_capture_on_commit_callbacks
):
    import io

    from PIL import Image

    from studio.services import project_delete

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, format="PNG")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("base.png", buffer.getvalue(), content_type="image/png")
    variants = [{"model": tiny_model.id}, {"model": second_model.id}, {"model": tiny_model.id}]

    comparison = submission.comparison_submit(
        user=team.bob, project=team.project, variants=variants, prompt="x", mode="image_to_image",
        steps=2, init_image=upload,
    )  # fmt: skip

    sessions = list(comparison.sessions.all())
    assert len({session.init_image.name for session in sessions}) == 1
    assert [name for name in stored_files() if "init_image" in name] == [sessions[0].init_image.name]
    assert [run(session).status for session in sessions] == ["succeeded"] * 3

    with django_capture_on_commit_callbacks(execute=True):
        sessions[0].delete()  # one column gone: the others still need the input
    assert sessions[1].init_image.name in stored_files()
    with django_capture_on_commit_callbacks(execute=True):
        project_delete(team.project)
    assert not [name for name in stored_files() if "init_image" in name]
