"""The generation app's data: the catalog, and sessions with their images and comparisons."""

from .catalog import ModelEntry
from .choices import validate_image_side
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
    "GenerationSession",
    "ModelEntry",
    "SessionAdapter",
    "image_upload_path",
    "input_upload_path",
    "validate_image_side",
]
