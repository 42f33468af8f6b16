"""Images: one image with its parameters, Save and Delete, its lineage, and its file."""

from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors
from studio.permissions import project_for_writer

from .. import lineage, results, selectors
from .serializers import ImageDetailSerializer, ImageSerializer, ImageUpdateSerializer, LineageSerializer


class ImageDetailApi(APIView):
    """GET an image with its session's parameters; PATCH {saved}; DELETE (editors and owners)."""

    @extend_schema(responses={200: ImageDetailSerializer, **errors(404)})
    def get(self, request, image_id):
        image = selectors.image_for_member(request.user, image_id)
        return Response(ImageDetailSerializer(image, context={"request": request}).data)

    @extend_schema(request=ImageUpdateSerializer, responses={200: ImageSerializer, **errors(400, 403, 404)})
    def patch(self, request, image_id):
        image = writable_image(request, image_id)
        serializer = ImageUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = results.image_set_saved(image, serializer.validated_data["saved"])
        return Response(ImageSerializer(image, context={"request": request}).data)

    @extend_schema(responses={204: None, **errors(403, 404)})
    def delete(self, request, image_id):
        results.image_delete(writable_image(request, image_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def writable_image(request, image_id):
    """An image the user may change: 404 for outsiders, 403 for viewers."""
    image = selectors.image_for_member(request.user, image_id)
    project_for_writer(request.user, image.session.project_id)
    return image


class ImageLineageApi(APIView):
    """GET: ancestors back to the first generation, and descendants as a tree."""

    @extend_schema(responses={200: LineageSerializer, **errors(404)})
    def get(self, request, image_id):
        return Response(lineage.image_lineage(selectors.image_for_member(request.user, image_id)))


class ImageFileApi(APIView):
    """The PNG itself, for project members only (generated files are never public).
    `?download=1` asks the browser to save it under a descriptive name."""

    @extend_schema(
        parameters=[OpenApiParameter("download", int, enum=[0, 1], description="1: as an attachment.")],
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="The PNG."),
            302: OpenApiResponse(description="With S3 storage: to a short-lived signed URL of the file."),
            **errors(404),
        },
    )
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
