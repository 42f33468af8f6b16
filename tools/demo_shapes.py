"""The demo model's world: scenes of one shape on a plain background, their captions, and
a pixel-statistics scorer that reads a picture back into words.

Shared by the training script (`tools/train_demo_model.py`), the quality bench
(`bench/demo_quality.py`) and the tests. No Django, no torch: numpy and Pillow only.
"""

import random
import zlib
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

SIZE = 128  # the demo model's native size

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 220, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "purple": (140, 60, 190),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
SHAPES = ("circle", "square", "triangle")
SIZES = ("small", "large")
# name -> (centre as fractions of the width/height, the words of the caption)
POSITIONS: dict[str, tuple[tuple[float, float], str]] = {
    "left": ((0.25, 0.5), "on the left"),
    "right": ((0.75, 0.5), "on the right"),
    "top": ((0.5, 0.25), "at the top"),
    "bottom": ((0.5, 0.75), "at the bottom"),
    "centre": ((0.5, 0.5), "in the centre"),
}
RADIUS = {"small": 0.11, "large": 0.2}  # half the shape's extent, as a fraction of the side
STYLES = ("filled", "outline")

# Every word a caption can use; the tokenizer knows these as whole words.
VOCABULARY = sorted(
    {"a", "an", "the", "on", "at", "in", "of", "and", "with", "background", "center", "middle", "shape", ","}
    | set(COLOURS)
    | set(SHAPES)
    | set(SIZES)
    | {word for _, words in POSITIONS.values() for word in words.split()}
)


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    position: str
    size: str
    background: str
    style: str = "filled"

    def caption(self) -> str:
        return caption_of(self)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.shape, self.colour, self.position, self.size, self.background)


def caption_of(scene: Scene, drop: frozenset[str] = frozenset()) -> str:
    """ "a large red circle on the left, blue background"; words of `drop` are left out."""
    words = ["a"]
    if "size" not in drop:
        words.append(scene.size)
    if "colour" not in drop:
        words.append(scene.colour)
    words.append("shape" if "shape" in drop else scene.shape)
    if "position" not in drop:
        words.append(POSITIONS[scene.position][1])
    text = " ".join(words)
    if "background" not in drop:
        text += f", {scene.background} background"
    return text


def all_scenes() -> list[Scene]:
    """Every combination with a shape colour different from the background (1,680)."""
    return [
        Scene(shape, colour, position, size, background)
        for shape in SHAPES
        for colour in COLOURS
        for position in POSITIONS
        for size in SIZES
        for background in COLOURS
        if background != colour
    ]


def is_held_out(scene: Scene) -> bool:
    """About one combination in eight never appears in training: the bench draws those."""
    return zlib.crc32("|".join(scene.key).encode()) % 8 == 0


def training_scenes() -> list[Scene]:
    return [scene for scene in all_scenes() if not is_held_out(scene)]


def held_out_scenes() -> list[Scene]:
    return [scene for scene in all_scenes() if is_held_out(scene)]


def bench_scenes(count: int = 120, seed: int = 0) -> list[Scene]:
    """`count` held-out scenes in a fixed random order: bench/demo_quality.py's prompts."""
    scenes = held_out_scenes()
    return random.Random(seed).sample(scenes, min(count, len(scenes)))


def random_scene(rng: random.Random, scenes: list[Scene] | None = None, style: str = "filled") -> Scene:
    return replace(rng.choice(scenes or training_scenes()), style=style)


def draw_scene(scene: Scene, rng: random.Random | None = None, size: int = SIZE, supersample: int = 2) -> Image.Image:
    """Draw `scene` (RGB, `size`²); `rng` jitters the position and size a little."""
    jitter = (lambda spread: rng.uniform(-spread, spread)) if rng else (lambda spread: 0.0)
    big = size * supersample
    image = Image.new("RGB", (big, big), COLOURS[scene.background])
    draw = ImageDraw.Draw(image)
    (fx, fy), _ = POSITIONS[scene.position]
    cx = (fx + jitter(0.035)) * big
    cy = (fy + jitter(0.035)) * big
    r = (RADIUS[scene.size] + jitter(0.012)) * big
    colour = COLOURS[scene.colour]
    outline = scene.style == "outline"
    width = max(2, round(r * 0.22))
    if scene.shape == "circle":
        box = (cx - r, cy - r, cx + r, cy + r)
        draw.ellipse(box, outline=colour, width=width) if outline else draw.ellipse(box, fill=colour)
    elif scene.shape == "square":
        h = r * 0.9
        box = (cx - h, cy - h, cx + h, cy + h)
        draw.rectangle(box, outline=colour, width=width) if outline else draw.rectangle(box, fill=colour)
    else:
        points = [(cx, cy - r), (cx + r, cy + 0.8 * r), (cx - r, cy + 0.8 * r)]
        if outline:
            draw.polygon(points, outline=colour, width=width)
        else:
            draw.polygon(points, fill=colour)
    return image.resize((size, size), Image.Resampling.BOX) if supersample > 1 else image


# ---------------------------------------------------------------- scoring


@dataclass
class Reading:
    """What the scorer sees in a picture; None where it finds no shape."""

    background: str
    colour: str | None
    position: str | None
    shape: str | None
    fill: float  # shape pixels / bounding-box pixels
    area: float  # shape pixels / all pixels
    hollow: bool  # the middle of the shape's box is mostly background (an outline)
    centroid: tuple[float, float] | None


_PALETTE_NAMES = list(COLOURS)
_PALETTE = np.array([COLOURS[name] for name in _PALETTE_NAMES], dtype=np.float32)


def nearest_colour(rgb) -> str:
    return _PALETTE_NAMES[int(np.argmin(((_PALETTE - np.asarray(rgb, dtype=np.float32)) ** 2).sum(-1)))]


def _pixels(image) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    array = np.asarray(image, dtype=np.float32)
    return array * 255.0 if array.max() <= 1.0 else array


def shape_mask(image, threshold: float = 70.0) -> tuple[np.ndarray, np.ndarray]:
    """(mask of pixels far from the background colour, background RGB from the border)."""
    pixels = _pixels(image)
    h, w, _ = pixels.shape
    b = max(2, h // 32)
    border = np.concatenate(
        [
            pixels[:b].reshape(-1, 3),
            pixels[-b:].reshape(-1, 3),
            pixels[:, :b].reshape(-1, 3),
            pixels[:, -b:].reshape(-1, 3),
        ]
    )
    background = np.median(border, axis=0)
    distance = np.sqrt(((pixels - background) ** 2).sum(-1))
    return distance > threshold, background


def read_picture(image) -> Reading:
    """Background colour from the border; the shape is every pixel far from it. Colour:
    the palette colour most of those pixels are nearest to; position: the anchor nearest
    the centroid; shape: from how much of its bounding box it fills."""
    pixels = _pixels(image)
    h, w, _ = pixels.shape
    mask, background_rgb = shape_mask(pixels)
    background = nearest_colour(background_rgb)
    area = float(mask.mean())
    if mask.sum() < 0.004 * h * w:
        return Reading(background, None, None, None, 0.0, area, False, None)
    chosen = pixels[mask]
    nearest = np.argmin(((chosen[:, None, :] - _PALETTE[None]) ** 2).sum(-1), axis=1)
    votes = np.bincount(nearest, minlength=len(_PALETTE_NAMES)).astype(float)
    votes[_PALETTE_NAMES.index(background)] = 0  # edge pixels blended with the background
    colour = _PALETTE_NAMES[int(votes.argmax())] if votes.sum() else None
    ys, xs = np.nonzero(mask)
    cx, cy = xs.mean() / w, ys.mean() / h
    position = min(POSITIONS, key=lambda name: (POSITIONS[name][0][0] - cx) ** 2 + (POSITIONS[name][0][1] - cy) ** 2)
    # A robust bounding box: stray pixels far away do not stretch it.
    x0, x1 = np.percentile(xs, [1, 99])
    y0, y1 = np.percentile(ys, [1, 99])
    box = mask[int(y0) : int(np.ceil(y1)) + 1, int(x0) : int(np.ceil(x1)) + 1]
    fill = float(box.mean()) if box.size else 0.0
    shape = "triangle" if fill < 0.7 else "circle" if fill < 0.92 else "square"
    # A box a third of the shape's extent (10th-90th percentiles) around its centroid: inside
    # a filled shape; mostly background inside an outline, even with a dot at its centre.
    half_w = (np.percentile(xs, 90) - np.percentile(xs, 10)) / 6 + 1
    half_h = (np.percentile(ys, 90) - np.percentile(ys, 10)) / 6 + 1
    px, py = xs.mean(), ys.mean()
    middle = mask[int(py - half_h) : int(np.ceil(py + half_h)) + 1, int(px - half_w) : int(np.ceil(px + half_w)) + 1]
    hollow = bool(middle.size) and float(middle.mean()) < 0.5
    return Reading(background, colour, position, shape, fill, area, hollow, (float(cx), float(cy)))


def score(reading: Reading, scene: Scene) -> dict[str, bool]:
    return {
        "colour": reading.colour == scene.colour,
        "position": reading.position == scene.position,
        "background": reading.background == scene.background,
        "shape": reading.shape == scene.shape,
    }


# ---------------------------------------------------------------- tokenizer

SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")


def _bpe(word: tuple[str, ...], ranks: dict[tuple[str, str], int]) -> tuple[str, ...]:
    """CLIP's byte-pair merge loop: merge the lowest-ranked adjacent pair until none applies."""
    while len(word) > 1:
        pairs = [(ranks.get(pair, 1 << 30), i) for i, pair in enumerate(zip(word, word[1:], strict=False))]
        rank, i = min(pairs)
        if rank == 1 << 30:
            break
        first, second = word[i], word[i + 1]
        merged, j = [], 0
        while j < len(word):
            if j < len(word) - 1 and word[j] == first and word[j + 1] == second:
                merged.append(first + second)
                j += 2
            else:
                merged.append(word[j])
                j += 1
        word = tuple(merged)
    return word


def word_level_vocabulary(words=VOCABULARY) -> tuple[dict[str, int], list[str]]:
    """A CLIP BPE vocabulary and merge list in which every word of `words` is one token.

    Merges are appended word by word, each only where the merges so far leave the word in
    pieces; a later merge ranks after every earlier one, so it never changes how an
    earlier word splits. Words outside the list fall apart into the unknown token."""
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    tokens: list[str] = []
    for text in words:
        word = (*text[:-1], text[-1] + "</w>")
        pieces = _bpe(word, ranks)
        while len(pieces) > 1:
            pair = (pieces[0], pieces[1])
            ranks[pair] = len(merges)
            merges.append(pair)
            tokens.extend([pair[0], pair[1], pair[0] + pair[1]])  # the tokenizer wants all three
            pieces = _bpe(word, ranks)
        tokens.append(pieces[0])
    ordered = list(SPECIAL_TOKENS) + list(dict.fromkeys(tokens))
    return {token: i for i, token in enumerate(ordered)}, [f"{a} {b}" for a, b in merges]


def write_tokenizer_files(folder) -> None:
    """vocab.json, merges.txt and tokenizer_config.json for transformers' CLIPTokenizer."""
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = word_level_vocabulary()
    (folder / "vocab.json").write_text(json.dumps(vocab, indent=0))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    config = {
        "model_max_length": 77,  # without it transformers assumes a huge default
        "bos_token": SPECIAL_TOKENS[0],
        "eos_token": SPECIAL_TOKENS[1],
        "unk_token": SPECIAL_TOKENS[1],
        "pad_token": SPECIAL_TOKENS[1],
        "tokenizer_class": "CLIPTokenizer",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
