"""The site's routes: admin, accounts, the API (studio's and generation's under one `api`
namespace at /api/v1/, its OpenAPI schema and Swagger UI beside them), the AUTOMATIC1111-compatible
API at /sdapi/v1/, the OpenAI-compatible Images API at /v1/, and the browser studio."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from generation.admin import queue_page
from generation.api.urls import urlpatterns as generation_api
from studio.api.urls import urlpatterns as studio_api

api_urls = (studio_api + generation_api, "api")

urlpatterns = [
    path("admin/queue/", admin.site.admin_view(queue_page), name="admin-queue"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="openapi-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="openapi-docs"),
    path("api/v1/", include(api_urls)),
    path("sdapi/v1/", include("generation.api.a1111_urls")),  # AUTOMATIC1111-compatible
    path("v1/", include("generation.api.openai_urls")),  # OpenAI-compatible Images API
    path("", include("studio.urls")),
]

handler400 = "deepimage_site.errors.bad_request"
handler404 = "deepimage_site.errors.not_found"
handler500 = "deepimage_site.errors.server_error"
