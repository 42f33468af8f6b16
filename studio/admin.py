"""The admin of projects, with their members inline, and of webhooks (read-only: owners manage
them on the project's webhooks page; secrets are never shown)."""

from django.contrib import admin

from .models import Membership, Project, WebhookDelivery, WebhookEndpoint


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["url", "project", "active", "created_by", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "project__name"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["endpoint__url", "message_id"]
