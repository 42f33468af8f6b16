"""The queue as one person sees it: their own jobs with positions, the rest as counts."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors

from .. import queue
from .serializers import QueueOverviewSerializer


class QueueApi(APIView):
    """GET: your queued and running jobs (with position and estimated seconds until done),
    other people's jobs as counts, and how many workers are online."""

    @extend_schema(responses={200: QueueOverviewSerializer, **errors()})
    def get(self, request):
        return Response(queue.queue_overview(request.user))
