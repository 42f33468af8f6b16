"""The queue as one person sees it: their own jobs with positions, the rest as counts."""

from rest_framework.response import Response
from rest_framework.views import APIView

from .. import queue


class QueueApi(APIView):
    """GET: your queued and running jobs (with position and estimated seconds until done),
    other people's jobs as counts, and how many workers are online."""

    def get(self, request):
        return Response(queue.queue_overview(request.user))
