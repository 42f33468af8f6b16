"""The generation app's data: the catalog, sessions with their images and comparisons, and
the job system's attempts and workers, and the limits admins set."""

from .catalog import ModelEntry
from .choices import validate_image_side
from .queue import GenerationAttempt, Worker
from .quotas import ProjectQuota, UserQuota
from .sessions import (
    Comparison,
    GeneratedImage,
    GenerationSession,
    SessionAdapter,
    image_upload_path,
    input_upload_path,
)

__all__ = [
    "Comparison",
    "GeneratedImage",
    "GenerationAttempt",
    "GenerationSession",
    "ModelEntry",
    "ProjectQuota",
    "SessionAdapter",
    "UserQuota",
    "Worker",
    "image_upload_path",
    "input_upload_path",
    "validate_image_side",
]
