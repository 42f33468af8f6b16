"""Reads: what a user may see (catalog, sessions, images, comparisons), project history with
its filters, and the state a websocket client starts from. Lineage reads are in lineage.py."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from studio.permissions import member_filter

from . import events, queue
from .models import Comparison, GeneratedImage, GenerationSession, ModelEntry

HISTORY_PAGE_SIZE = 20


def catalog_for(user, project=None) -> QuerySet[ModelEntry]:
    """The enabled entries a project may use, or (no project) any of the user's projects;
    an entry restricted to other projects is not there."""
    if project is not None:
        return ModelEntry.objects.available_to(project)
    return ModelEntry.objects.available_to_user(user)


def generation_models(project) -> QuerySet[ModelEntry]:
    """What the project's model picker offers: the base models it may use."""
    return ModelEntry.objects.available_to(project).filter(kind=ModelEntry.Kind.BASE)


def enabled_model_with_preview(user, model_id) -> ModelEntry:
    entry = catalog_for(user).filter(pk=model_id).first()
    if entry is None or not entry.preview:
        raise Http404("No preview for this model.")
    return entry


def sessions_visible_to(user) -> QuerySet[GenerationSession]:
    if not user.is_authenticated:
        return GenerationSession.objects.none()
    return GenerationSession.objects.filter(member_filter(user, "project"))


def session_for_member(user, session_id) -> GenerationSession:
    return one_or_404(sessions_visible_to(user).select_related("model"), session_id, "generation")


def images_with_sessions() -> QuerySet[GeneratedImage]:
    # Pages, file names and permission checks all read the session: join it up front.
    return GeneratedImage.objects.select_related("session__model", "session__created_by")


def image_for_member(user, image_id) -> GeneratedImage:
    if not user.is_authenticated:
        raise Http404("No such image.")
    return one_or_404(images_with_sessions().filter(member_filter(user, "session__project")), image_id, "image")


def image_in_project(project, image_id) -> GeneratedImage:
    """An image of `project`, whose membership the caller has checked."""
    return one_or_404(images_with_sessions().filter(session__project=project), image_id, "image")


def one_or_404(rows: QuerySet, pk, name: str):
    """The row `pk` of `rows` (already narrowed to what the user may see), or a 404."""
    try:
        return rows.get(pk=pk)
    except (rows.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {name}.") from None


def comparison_for_member(user, comparison_id) -> Comparison:
    if not user.is_authenticated:
        raise Http404("No such comparison.")
    return one_or_404(Comparison.objects.filter(member_filter(user, "project")), comparison_id, "comparison")


def comparison_in_project(project, comparison_id) -> Comparison:
    return one_or_404(Comparison.objects.filter(project=project), comparison_id, "comparison")


def comparison_sessions(comparison: Comparison) -> QuerySet[GenerationSession]:
    """The comparison's columns, in the order they were asked for."""
    return (
        comparison.sessions.select_related("model").prefetch_related("images", "adapters_used__adapter").order_by("id")
    )


class HistoryFilterForm(forms.Form):
    """The history's query parameters: ids a database column can hold, a known mode, a short search."""

    model = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    user = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    mode = forms.ChoiceField(required=False, choices=[("", "all"), *GenerationSession.Mode.choices])
    saved = forms.ChoiceField(
        required=False, choices=[(value, value) for value in ("", "0", "1", "true", "false", "on", "off", "yes", "no")]
    )
    q = forms.CharField(required=False, max_length=200, strip=False)
    page = forms.CharField(required=False, max_length=20)  # read leniently by the paginator


@dataclass(frozen=True)
class HistoryFilters:
    """What a history list is narrowed to."""

    model: int | None = None
    user: int | None = None
    mode: str = ""
    saved: bool = False
    query: str = ""

    @classmethod
    def from_query(cls, params) -> "HistoryFilters":
        """The filters a query string asks for; ValidationError by parameter if one is not valid."""
        form = HistoryFilterForm(params)
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        data = form.cleaned_data
        return cls(
            model=data["model"],
            user=data["user"],
            mode=data["mode"],
            saved=data["saved"] in ("1", "true", "on", "yes"),
            query=data["q"].strip(),
        )

    @property
    def active(self) -> bool:
        return self != HistoryFilters()

    def apply(self, sessions: QuerySet[GenerationSession]) -> QuerySet[GenerationSession]:
        if self.model:
            sessions = sessions.filter(model_id=self.model)
        if self.user:
            sessions = sessions.filter(created_by_id=self.user)
        if self.mode:
            sessions = sessions.filter(mode=self.mode)
        if self.query:
            sessions = sessions.filter(prompt__icontains=self.query)
        if self.saved:
            sessions = sessions.filter(images__saved=True).distinct()
        return sessions

    def as_query(self) -> str:
        """The filters as a query string, for pagination links."""

        pairs = {
            "model": self.model,
            "user": self.user,
            "mode": self.mode,
            "saved": "1" if self.saved else "",
            "q": self.query,
        }
        return urlencode({name: value for name, value in pairs.items() if value})


def project_history(project, filters: HistoryFilters | None = None) -> QuerySet[GenerationSession]:
    """The project's sessions, newest first, with what a history list shows."""
    filters = filters or HistoryFilters()
    images = GeneratedImage.objects.filter(saved=True) if filters.saved else GeneratedImage.objects.all()
    sessions = (
        GenerationSession.objects.filter(project=project)
        .select_related("model", "created_by")
        .prefetch_related(Prefetch("images", queryset=images), "attempt_log")  # saved-only: only the saved images
        .order_by("-created_at", "-id")
    )
    return filters.apply(sessions)


def history_page(project, filters: HistoryFilters, page_number) -> Page:
    return Paginator(project_history(project, filters), HISTORY_PAGE_SIZE).get_page(page_number)


def project_authors(project):
    """Everyone who ran a generation in the project or is a member of it, for the user filter."""
    users = get_user_model().objects.filter(memberships__project=project) | get_user_model().objects.filter(
        pk__in=GenerationSession.objects.filter(project=project).values("created_by")
    )
    return users.distinct().order_by("username")


def generation_state(session_id: int) -> dict:
    """The state a websocket client gets on connect, before any live event: a queued job
    also gets where it stands, as a `queued` event would say."""
    session = GenerationSession.objects.get(pk=session_id)
    state = {
        "type": "state",
        "id": session.pk,
        "status": session.status,
        "step": session.progress_step,
        "total_steps": session.progress_total,
        "error": session.error_message,
        "attempts": session.attempts,
        "images": [events.image_payload(image) for image in session.images.all()],
    }
    if session.status == GenerationSession.Status.QUEUED:
        position, eta = queue.queue_standing().get(session.pk, (None, None))
        state |= {"position": position, "eta_seconds": eta}
    return state
