"""The admin of the catalog (with the "Test load on a worker" action), sessions with their
attempts, comparisons, the workers, people's and projects' limits, and the queue page
(running jobs, queued jobs per person, workers with their models and last heartbeat)."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html

from . import catalog, queue
from .models import (
    Comparison,
    GeneratedImage,
    GenerationAttempt,
    GenerationSession,
    ModelEntry,
    ProjectQuota,
    UserQuota,
    Worker,
)


@admin.register(ModelEntry)
class ModelEntryAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "origin", "family", "enabled", "source", "load_test"]
    list_filter = ["kind", "origin", "family", "enabled"]
    search_fields = ["name", "source", "description"]
    readonly_fields = ["preview_thumbnail", "test_status", "test_message", "tested_at"]
    actions = ["test_load"]
    filter_horizontal = ["projects"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "origin", "family", "enabled", "description"]}),
        ("Who may use it", {"fields": ["projects"]}),
        ("Weights", {"fields": ["source", "revision", "config", "base_model", "adapter_rank", "allow_pickle"]}),
        (
            "Defaults for the form",
            {
                "fields": [
                    "default_steps",
                    "default_guidance_scale",
                    "default_guidance_end",
                    "default_width",
                    "default_height",
                    "default_sampler",
                ]
            },
        ),
        ("Preview", {"fields": ["preview", "preview_thumbnail"]}),
        ("Last test load", {"fields": ["test_status", "test_message", "tested_at"]}),
    ]

    @admin.display(description="Test load")
    def load_test(self, entry):
        if not entry.test_status:
            return "—"
        return format_html("<span title='{}'>{}</span>", entry.test_message, entry.get_test_status_display())

    @admin.display(description="Preview")
    def preview_thumbnail(self, entry):
        if not entry.preview:
            return "—"
        return format_html(
            "<img src='/api/v1/models/{}/preview/' style='max-height:160px;border-radius:6px'>", entry.pk
        )

    @admin.action(description="Test load on a worker")
    def test_load(self, request, queryset):
        count = catalog.catalog_request_test(queryset)
        self.message_user(
            request,
            f"Queued {count} test load(s). A worker loads each entry; reload this page for the result.",
            messages.INFO,
        )


class GeneratedImageInline(admin.TabularInline):
    model = GeneratedImage
    extra = 0
    fields = ["index", "seed", "width", "height", "file", "parent", "parent_deleted", "saved"]
    readonly_fields = fields
    can_delete = False


class AttemptInline(admin.TabularInline):
    model = GenerationAttempt
    extra = 0
    fields = ["number", "worker", "started_at", "finished_at", "outcome", "message"]
    readonly_fields = fields
    can_delete = False


@admin.register(GenerationSession)
class GenerationSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "created_by", "model", "mode", "status", "attempts", "created_at"]
    list_filter = ["status", "mode", "model"]
    search_fields = ["prompt"]
    readonly_fields = [
        "status",
        "progress_step",
        "progress_total",
        "error_message",
        "worker",
        "queued_at",
        "started_at",
        "finished_at",
        "attempts",
        "lease_expires_at",
        "passed_over",
    ]
    inlines = [AttemptInline, GeneratedImageInline]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "device", "status_label", "current_session", "jobs_done", "last_seen"]
    readonly_fields = [field.name for field in Worker._meta.fields]

    def has_add_permission(self, request):
        return False  # workers register themselves


@admin.register(UserQuota)
class UserQuotaAdmin(admin.ModelAdmin):
    list_display = ["user", "queued_jobs", "images_per_day", "job_cost"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(ProjectQuota)
class ProjectQuotaAdmin(admin.ModelAdmin):
    list_display = ["project", "images_per_day"]
    search_fields = ["project__name"]
    autocomplete_fields = ["project"]


def queue_page(request):
    """/admin/queue/: what runs, who waits in which order, and which workers are up."""
    context = admin.site.each_context(request) | {"title": "Queue", **queue.queue_admin_overview()}
    return TemplateResponse(request, "admin/queue.html", context)


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "created_by", "created_at"]
