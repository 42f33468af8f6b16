from django.contrib import admin

from .models import GeneratedImage, GenerationSession, ModelEntry


@admin.register(ModelEntry)
class ModelEntryAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "origin", "family", "enabled", "source"]
    list_filter = ["kind", "origin", "family", "enabled"]
    search_fields = ["name", "source", "description"]


class GeneratedImageInline(admin.TabularInline):
    model = GeneratedImage
    extra = 0
    fields = ["index", "seed", "width", "height", "file", "parent"]
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
