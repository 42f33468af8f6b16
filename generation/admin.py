"""The admin of the catalog (with the "Test load on a worker" action), sessions and comparisons."""

from django.contrib import admin, messages
from django.utils.html import format_html

from . import catalog
from .models import Comparison, GeneratedImage, GenerationSession, ModelEntry


@admin.register(ModelEntry)
class ModelEntryAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "origin", "family", "enabled", "source", "load_test"]
    list_filter = ["kind", "origin", "family", "enabled"]
    search_fields = ["name", "source", "description"]
    readonly_fields = ["preview_thumbnail", "test_status", "test_message", "tested_at"]
    actions = ["test_load"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "origin", "family", "enabled", "description"]}),
        ("Weights", {"fields": ["source", "config", "base_model", "adapter_rank"]}),
        (
            "Defaults for the form",
            {
                "fields": [
                    "default_steps",
                    "default_guidance_scale",
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


@admin.register(GenerationSession)
class GenerationSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "created_by", "model", "mode", "status", "created_at"]
    list_filter = ["status", "mode", "model"]
    search_fields = ["prompt"]
    readonly_fields = [
        "status",
        "progress_step",
        "progress_total",
        "error_message",
        "worker",
        "started_at",
        "finished_at",
    ]
    inlines = [GeneratedImageInline]


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "created_by", "created_at"]
