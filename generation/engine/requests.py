"""What goes into the engine and what comes out: plain dataclasses, no Django."""

from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

FAMILIES = ("sd15", "sd21", "sdxl", "sdxl-turbo")


class GenerationError(Exception):
    """A generation that cannot run; the message is shown to the user as it is."""


class GenerationCancelled(GenerationError):
    """The caller asked to stop between two denoising steps."""


@dataclass(frozen=True)
class ModelSpec:
    """Where a base model's weights live and which pipeline class reads them."""

    source: str  # a local diffusers folder or a hub id
    family: str = "sd15"

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise GenerationError(f"Unknown model family {self.family!r}; expected one of {FAMILIES}.")


@dataclass(frozen=True)
class TextToImageRequest:
    model: ModelSpec
    prompt: str
    seed: int
    negative_prompt: str = ""
    steps: int = 20
    guidance_scale: float = 7.5
    width: int = 512
    height: int = 512
    num_images: int = 1

    def image_seeds(self) -> list[int]:
        """Image k uses seed + k, so any single image can be reproduced alone."""
        return [self.seed + k for k in range(self.num_images)]


@dataclass(frozen=True)
class StepProgress:
    step: int  # 1-based: the number of denoising steps finished
    total_steps: int


@dataclass
class GeneratedPicture:
    image: Image.Image
    seed: int
    index: int


@dataclass
class GenerationResult:
    pictures: list[GeneratedPicture]
    sampler: str  # the scheduler that ran, recorded with the images


@dataclass
class JobHooks:
    """How the engine talks back while it works: progress out, cancellation in."""

    on_progress: Callable[[StepProgress], None] = field(default=lambda progress: None)
    should_cancel: Callable[[], bool] = field(default=lambda: False)
