"""What goes into the engine and what comes out: plain dataclasses, no Django."""

from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from .families import FAMILIES

# The modes, with the names people see.
MODE_LABELS = {
    "text_to_image": "Text to image",
    "image_to_image": "Image to image",
    "image_text": "Image + text",
    "inpaint": "Inpainting",
    "upscale": "Upscale 2×",
}
MODES = tuple(MODE_LABELS)
IMAGE_MODES = ("image_to_image", "image_text", "inpaint", "upscale")
PROMPT_REQUIRED_MODES = ("text_to_image", "image_text")
RESIZE_MODE_LABELS = {
    "just_resize": "Just resize (stretch)",
    "crop_and_resize": "Crop and resize (cover)",
    "resize_and_fill": "Resize and fill (contain)",
}
RESIZE_MODES = tuple(RESIZE_MODE_LABELS)


class GenerationError(Exception):
    """A generation that cannot run; the message is shown to the user as it is."""


class WeightsError(GenerationError):
    """Weights that could not be found or read. The message names files on the worker: it is
    for the admin (the catalog's test load, the worker's log); users are told less."""


class GenerationCancelled(GenerationError):
    """The caller asked to stop between two denoising steps."""


class InvalidRequest(GenerationError):
    """A request the engine refuses before any work; `field` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ModelSpec:
    """Where a base model's weights live and which pipeline class reads them.

    `source` is a diffusers folder, a hub id, or a single-file `.safetensors`/`.ckpt`
    checkpoint; a single file needs `config`, a local diffusers folder (or hub id) that
    describes the components, since nothing can be downloaded to infer it.
    """

    source: str
    family: str = "sd15"
    config: str = ""
    allow_pickle: bool = False  # .ckpt / .bin weights run code when loaded: only if an admin says so
    revision: str = ""  # hub ids: the commit to load ("" = the hub's current one)

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise InvalidRequest("family", f"Unknown model family {self.family!r}; expected one of {FAMILIES}.")

    @property
    def is_single_file(self) -> bool:
        return self.source.endswith((".safetensors", ".ckpt"))


@dataclass(frozen=True)
class AdapterSpec:
    """A LoRA-family file applied unmerged with `weight`; `rank` slices a DyLoRA file."""

    source: str
    weight: float = 1.0
    rank: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    model: ModelSpec
    prompt: str
    seed: int
    mode: str = "text_to_image"
    negative_prompt: str = ""
    steps: int = 20
    guidance_scale: float = 7.5
    width: int = 512
    height: int = 512
    num_images: int = 1
    sampler: str = ""  # a name users know ("DPM++ 2M Karras"); empty keeps the model's own
    eta: float = 0.0
    clip_skip: int = 0  # 0 or 1: the last CLIP layer; 2: the one before it, as in A1111
    guidance_rescale: float = 0.0
    guidance_end: float = 1.0  # guidance runs on the first ceil(end × steps) steps, then the prompt alone
    strength: float = 0.75  # denoising strength of the image modes
    init_image: Image.Image | None = None
    mask_image: Image.Image | None = None  # white repaints, black keeps
    resize_mode: str = "just_resize"
    adapters: tuple[AdapterSpec, ...] = ()
    preview_every: int = 2  # steps between live previews; 0 turns them off

    def image_seeds(self) -> list[int]:
        """Image k uses seed + k, so any single image can be reproduced alone."""
        return [self.seed + k for k in range(self.num_images)]


@dataclass(frozen=True)
class StepProgress:
    step: int  # 1-based: the number of denoising steps finished
    total_steps: int
    previews: tuple[Image.Image, ...] = ()  # one small approximation per image, some steps only


@dataclass
class GeneratedPicture:
    image: Image.Image
    seed: int
    index: int


@dataclass
class GenerationResult:
    pictures: list[GeneratedPicture]
    sampler: str  # the sampler that ran, by its user-facing name
    model_hash: str = ""  # A1111's "AutoV2" short sha256
    adapter_hashes: dict[str, str] = field(default_factory=dict)  # adapter source -> short sha256


@dataclass
class JobHooks:
    """How the engine talks back while it works: progress out, cancellation in."""

    on_progress: Callable[[StepProgress], None] = field(default=lambda progress: None)
    should_cancel: Callable[[], bool] = field(default=lambda: False)
