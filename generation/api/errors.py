"""The API's exception handler: services raise Django's ValidationError, clients get a 400 by
field; a quota that time lifts is a 429 with Retry-After."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler

from ..quotas import QuotaExceeded


def api_exception_handler(exc, context):
    """Let services raise Django's ValidationError; the API answers 400 with the fields."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, QuotaExceeded):
        exc = exceptions.Throttled(wait=exc.retry_after, detail=exc.message)
    return exception_handler(exc, context)
