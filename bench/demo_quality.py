"""How well the demo model draws what it is asked for, on combinations it never saw.

    python bench/demo_quality.py                      # 120 held-out prompts at the catalog defaults
    python bench/demo_quality.py --guidance 2,1,3,5,7 --guidance-end 0.6,1 --steps 12,20 --sampler Euler,UniPC

Every prompt is a held-out combination of `tools/demo_shapes.py` (shape, colour, position,
size, background never trained together); each picture goes through the engine, the
product's own path, and the pixel-statistics scorer reads it back: background colour from
the border, colour of the pixels that differ from it, position from their centroid, shape
from how much of their bounding box they fill. Prints one row of accuracies per setting and
writes a 4×4 contact sheet of the first setting with its prompts.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from generation.engine import Engine, GenerationRequest, ModelSpec  # noqa: E402
from tools.demo_shapes import bench_scenes, read_picture, score  # noqa: E402

GOALS = {"colour": 0.9, "background": 0.9, "position": 0.8, "shape": 0.7}
DEFAULT_MODEL = ROOT / "models" / "demo-shapes"
DEFAULT_SHEET = ROOT / "docs" / "demo-contact-sheet.png"


class Setting(NamedTuple):
    sampler: str
    steps: int
    guidance: float
    guidance_end: float
    rescale: float

    def request(self, model: ModelSpec, prompt: str, seed: int, size: int, **fields) -> GenerationRequest:
        return GenerationRequest(
            model=model,
            prompt=prompt,
            seed=seed,
            steps=self.steps,
            guidance_scale=self.guidance,
            guidance_end=self.guidance_end,
            guidance_rescale=self.rescale,
            sampler=self.sampler,
            width=size,
            height=size,
            **fields,
        )

    def __str__(self) -> str:
        return (
            f"{self.sampler}, {self.steps} steps, CFG {self.guidance:g}"
            + (f" to {self.guidance_end:.0%} of the steps" if self.guidance_end < 1 else "")
            + (f", rescale {self.rescale:g}" if self.rescale else "")
        )


def run_setting(engine, model: ModelSpec, scenes, setting: Setting, size, seed):
    """Generate one picture per scene; returns (pictures, per-attribute accuracy, seconds)."""
    pictures, hits = [], {name: 0 for name in GOALS}
    started = time.perf_counter()
    for index, scene in enumerate(scenes):
        request = setting.request(model, scene.caption(), seed + index, size, preview_every=0)
        picture = engine.generate(request).pictures[0].image
        pictures.append(picture)
        for name, ok in score(read_picture(picture), scene).items():
            hits[name] += ok
    seconds = time.perf_counter() - started
    return pictures, {name: hits[name] / len(scenes) for name in GOALS}, seconds


def contact_sheet(pictures, scenes, path: Path, title: str, tile: int = 192) -> None:
    """A 4×4 grid, each picture with its prompt underneath (green: the scorer agrees on all
    four attributes, red: it does not)."""
    columns, rows, text_height = 4, 4, 44
    sheet = Image.new("RGB", (columns * tile, rows * (tile + text_height) + 24), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), title, fill=(0, 0, 0))
    for k, (picture, scene) in enumerate(zip(pictures[: columns * rows], scenes, strict=False)):
        x, y = (k % columns) * tile, 24 + (k // columns) * (tile + text_height)
        sheet.paste(picture.resize((tile - 8, tile - 8), Image.Resampling.NEAREST), (x + 4, y + 4))
        correct = all(score(read_picture(picture), scene).values())
        words, lines = scene.caption().split(" "), [""]
        for word in words:
            if len(lines[-1]) + len(word) + 1 > 30:
                lines.append("")
            lines[-1] = f"{lines[-1]} {word}".strip()
        for i, line in enumerate(lines[:3]):
            draw.text((x + 6, y + tile + i * 13), line, fill=(0, 120, 0) if correct else (190, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--prompts", type=int, default=120)
    parser.add_argument("--steps", default="20", help="comma-separated")
    parser.add_argument("--guidance", default="5", help="comma-separated (the catalog's 5)")
    parser.add_argument(
        "--guidance-end", default="0.6", help="fraction of the steps guided (the catalog's 0.6), comma-separated"
    )
    parser.add_argument("--sampler", default="Euler", help="comma-separated A1111 names")
    parser.add_argument("--rescale", default="0", help="guidance rescale (CFG Rescale phi), comma-separated")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sheet", type=Path, default=DEFAULT_SHEET, help="contact sheet of the first setting")
    parser.add_argument("--no-sheet", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    engine, model = Engine(), ModelSpec(args.model, family="sd15")
    scenes = bench_scenes(args.prompts)
    settings = [
        Setting(sampler, int(steps), float(guidance), float(end), float(rescale))
        for sampler in args.sampler.split(",")
        for steps in args.steps.split(",")
        for end in args.guidance_end.split(",")
        for guidance in args.guidance.split(",")
        for rescale in args.rescale.split(",")
    ]
    print(f"{len(scenes)} held-out prompts, {args.size}², model {args.model}")
    header = (
        f"{'sampler':18s} {'steps':>5s} {'cfg':>5s} {'end':>4s} {'phi':>4s} | "
        + " ".join(f"{name:>10s}" for name in GOALS)
        + " |  s/image"
    )
    print(header)
    print(f"{'goal':41s} | " + " ".join(f"{goal:>10.0%}" for goal in GOALS.values()) + " |")
    print("-" * len(header))
    for k, setting in enumerate(settings):
        pictures, accuracy, seconds = run_setting(engine, model, scenes, setting, args.size, args.seed)
        marks = " ".join(f"{accuracy[name]:>9.1%}{' ' if accuracy[name] >= GOALS[name] else '*'}" for name in GOALS)
        print(
            f"{setting.sampler:18s} {setting.steps:5d} {setting.guidance:5.1f} {setting.guidance_end:4.2f} "
            f"{setting.rescale:4.1f} | {marks} | {seconds / len(scenes):8.3f}",
            flush=True,
        )
        if k == 0 and not args.no_sheet:
            title = f"Demo shapes model, held-out prompts: {setting}, seeds {args.seed}+"
            contact_sheet(pictures, scenes, args.sheet, title)
    print("(* below its goal)")
    four = settings[0].request(model, "a large red circle on the left, blue background", 1, args.size, num_images=4)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        engine.generate(four)
        times.append(time.perf_counter() - started)
    print(f"4 images, {settings[0]}, {args.size}²: median {sorted(times)[1]:.2f} s of 3")
    if not args.no_sheet:
        print(f"Contact sheet: {args.sheet}")


if __name__ == "__main__":
    main()
