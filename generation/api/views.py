from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from studio import selectors as studio_selectors
from studio import services as studio_services
from studio.permissions import membership_or_404, project_for_owner, project_for_reader, project_for_writer

from .. import results, selectors, services
from .serializers import (
    ComparisonInputSerializer,
    ComparisonSerializer,
    GenerationInputSerializer,
    GenerationSerializer,
    ImageSerializer,
    ImageUpdateSerializer,
    InviteSerializer,
    MemberSerializer,
    ModelEntrySerializer,
    ProjectSerializer,
    RoleSerializer,
)


class ModelListApi(generics.ListAPIView):
    serializer_class = ModelEntrySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.enabled_models()


class ModelPreviewApi(APIView):
    """A catalog entry's preview picture, for signed-in users."""

    def get(self, request, model_id):
        entry = selectors.enabled_model_with_preview(model_id)
        return FileResponse(entry.preview.open("rb"))


class OptionsApi(APIView):
    """The choices the generation endpoint accepts, for forms and integrations."""

    def get(self, request):
        return Response(selectors.generation_options())


class ProjectListCreateApi(APIView):
    def get(self, request):
        projects = studio_selectors.projects_for(request.user)
        return Response(ProjectSerializer(projects, many=True).data)

    def post(self, request):
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = studio_services.project_create(name=serializer.validated_data["name"], owner=request.user)
        project.role = "owner"
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    """GET for members; PATCH (rename) and DELETE for owners."""

    def get(self, request, project_id):
        membership = membership_or_404(request.user, project_id)
        membership.project.role = membership.role
        return Response(ProjectSerializer(membership.project).data)

    def patch(self, request, project_id):
        project = project_for_owner(request.user, project_id)
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = studio_services.project_rename(project, serializer.validated_data["name"])
        project.role = "owner"
        return Response(ProjectSerializer(project).data)

    def delete(self, request, project_id):
        studio_services.project_delete(project_for_owner(request.user, project_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListApi(APIView):
    """GET: the project's members. POST {user, role}: an owner adds an existing user."""

    def get(self, request, project_id):
        project = project_for_reader(request.user, project_id)
        members = project.memberships.select_related("user").order_by("user__username")
        return Response(MemberSerializer(members, many=True).data)

    def post(self, request, project_id):
        project = project_for_owner(request.user, project_id)
        serializer = InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = studio_services.member_invite(project, data["user"], data["role"])
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    """PATCH {role} or DELETE a member; owners only, and a project keeps at least one owner."""

    def patch(self, request, project_id, user_id):
        project = project_for_owner(request.user, project_id)
        serializer = RoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = studio_services.member_change_role(project, user_id, serializer.validated_data["role"])
        return Response(MemberSerializer(membership).data)

    def delete(self, request, project_id, user_id):
        studio_services.member_remove(project_for_owner(request.user, project_id), user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GenerationListCreateApi(generics.ListAPIView):
    """GET: the project's history, newest first (filters: model, user, mode, saved, q).
    POST: submit a generation."""

    serializer_class = GenerationSerializer

    def get_queryset(self):
        project = project_for_reader(self.request.user, self.kwargs["project_id"])
        return selectors.project_history(project, selectors.HistoryFilters.from_query(self.request.query_params))

    def post(self, request, project_id):
        project = project_for_writer(request.user, project_id)
        serializer = GenerationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        session = services.generation_submit(user=request.user, project=project, model_id=data.pop("model"), **data)
        return Response(GenerationSerializer(session, context={"request": request}).data, status=201)


class ComparisonCreateApi(APIView):
    """POST: one prompt and seed on 2–4 models or model + adapter combinations."""

    def post(self, request, project_id):
        project = project_for_writer(request.user, project_id)
        serializer = ComparisonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comparison = services.comparison_submit(user=request.user, project=project, **serializer.validated_data)
        return Response(comparison_data(comparison, request), status=201)


class ComparisonDetailApi(APIView):
    def get(self, request, comparison_id):
        comparison = selectors.comparison_for_member(request.user, comparison_id)
        return Response(comparison_data(comparison, request))


def comparison_data(comparison, request) -> dict:
    comparison.columns = selectors.comparison_sessions(comparison)
    return ComparisonSerializer(comparison, context={"request": request}).data


class GenerationDetailApi(APIView):
    def get(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        return Response(GenerationSerializer(session, context={"request": request}).data)


class GenerationCancelApi(APIView):
    """POST: stop a queued or running generation (editors and owners)."""

    def post(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        project_for_writer(request.user, session.project_id)
        session = services.generation_cancel(session)
        return Response(GenerationSerializer(session, context={"request": request}).data)


class GenerationSaveAllApi(APIView):
    """POST: put every image of the session in the project's saved set."""

    def post(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        project_for_writer(request.user, session.project_id)
        return Response({"saved": results.session_save_all(session)})


class GenerationArchiveApi(APIView):
    """GET: a ZIP of the session's images with their parameters ("Download all")."""

    def get(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        response = HttpResponse(results.session_archive(session), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{results.archive_name(session)}"'
        return response


class ImageDetailApi(APIView):
    """GET an image with its session's parameters; PATCH {saved}; DELETE (editors and owners)."""

    def get(self, request, image_id):
        image = selectors.image_for_member(request.user, image_id)
        data = ImageSerializer(image, context={"request": request}).data
        data["generation"] = GenerationSerializer(image.session, context={"request": request}).data
        return Response(data)

    def patch(self, request, image_id):
        image = self.writable_image(request, image_id)
        serializer = ImageUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = results.image_set_saved(image, serializer.validated_data["saved"])
        return Response(ImageSerializer(image, context={"request": request}).data)

    def delete(self, request, image_id):
        results.image_delete(self.writable_image(request, image_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def writable_image(request, image_id):
        image = selectors.image_for_member(request.user, image_id)
        project_for_writer(request.user, image.session.project_id)
        return image


class ImageLineageApi(APIView):
    """GET: ancestors back to the first generation, and descendants as a tree."""

    def get(self, request, image_id):
        return Response(results.image_lineage(selectors.image_for_member(request.user, image_id)))


class ImageFileApi(APIView):
    """The PNG itself, for project members only (generated files are never public).
    `?download=1` asks the browser to save it under a descriptive name."""

    def get(self, request, image_id):
        image = selectors.image_for_member(request.user, image_id)
        download = request.query_params.get("download") == "1"
        signed_url = results.signed_file_url(image, download)
        if signed_url:
            return HttpResponseRedirect(signed_url)
        return FileResponse(
            image.file.open("rb"),
            content_type="image/png",
            as_attachment=download,
            filename=results.image_file_name(image),
        )
