"""The ranges a generation request must stay in, defined once.

The engine's checks, the catalog and session model validators, the API serializers and
(through `GET /api/v1/options/`) the browser all read these. The largest output side is
the one limit an operator sets (`DEEPIMAGE_MAX_IMAGE_SIDE`); it is passed in where needed.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    min: float
    max: float

    def __contains__(self, value) -> bool:
        return self.min <= value <= self.max

    def as_dict(self) -> dict:
        return {"min": self.min, "max": self.max}


STEPS = Range(1, 150)
GUIDANCE_SCALE = Range(0, 30)
NUM_IMAGES = Range(1, 4)  # one batched call; more would not fit a GPU at SDXL sizes
ADAPTER_WEIGHT = Range(-2, 2)
STRENGTH = Range(0, 1)
ETA = Range(0, 1)
GUIDANCE_RESCALE = Range(0, 1)
GUIDANCE_END = Range(0, 1)  # the fraction of the steps that run classifier-free guidance
CLIP_SKIP = Range(0, 12)
SEED = Range(0, 2**32 - 1)  # -1 on input means "pick one"
COMPARED_MODELS = Range(2, 4)
PROMPT_CHARS = 10_000  # long prompts are legitimate; a megabyte is not
MIN_SIDE = 64
SIDE_MULTIPLE = 8  # the VAE works on 8×8 pixel cells
# Asked-for sides above the configured maximum are scaled down to it; beyond this a request is a mistake.
MAX_REQUESTED_SIDE = 16384
