"""How well the demo model draws what it is asked for, on combinations it never saw.

    python bench/demo_quality.py                      # 120 held-out prompts at the catalog defaults
    python bench/demo_quality.py --guidance 2,1,3,5,7 --steps 12,20 --sampler Euler,UniPC --rescale 0,0.7

Every prompt is a held-out combination of `tools/demo_shapes.py` (shape, colour, position,
size, background never trained together); each picture goes through the engine, the
product's own path, and the pixel-statistics scorer reads it back: background colour from
the border, colour of the pixels that differ from it, position from their centroid, shape
from how much of their bounding box they fill. Prints one row of accuracies per setting and
writes a 4×4 contact sheet of the first setting with its prompts.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from generation.engine import Engine, GenerationRequest, ModelSpec  # noqa: E402
from tools.demo_shapes import held_out_scenes, read_picture, score  # noqa: E402

GOALS = {"colour": 0.9, "background": 0.9, "position": 0.8, "shape": 0.7}
DEFAULT_MODEL = ROOT / "models" / "demo-shapes"
DEFAULT_SHEET = ROOT / "docs" / "demo-contact-sheet.png"


def bench_prompts(count: int, seed: int = 0):
    scenes = held_out_scenes()
    return random.Random(seed).sample(scenes, min(count, len(scenes)))


def run_setting(engine, model: ModelSpec, scenes, steps, guidance, sampler, size, seed, rescale=0.0):
    """Generate one picture per scene; returns (pictures, per-attribute accuracy, seconds)."""
    pictures, hits = [], {name: 0 for name in GOALS}
    started = time.perf_counter()
    for index, scene in enumerate(scenes):
        request = GenerationRequest(
            model=model,
            prompt=scene.caption(),
            seed=seed + index,
            steps=steps,
            guidance_scale=guidance,
            guidance_rescale=rescale,
            sampler=sampler,
            width=size,
            height=size,
            preview_every=0,
        )
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
    parser.add_argument("--guidance", default="2", help="comma-separated")
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
    scenes = bench_prompts(args.prompts)
    settings = [
        (int(steps), float(guidance), sampler, float(rescale))
        for sampler in args.sampler.split(",")
        for steps in args.steps.split(",")
        for guidance in args.guidance.split(",")
        for rescale in args.rescale.split(",")
    ]
    print(f"{len(scenes)} held-out prompts, {args.size}², model {args.model}")
    header = (
        f"{'sampler':18s} {'steps':>5s} {'cfg':>5s} {'phi':>4s} | "
        + " ".join(f"{name:>10s}" for name in GOALS)
        + " |  s/image"
    )
    print(header)
    print(f"{'goal':36s} | " + " ".join(f"{goal:>10.0%}" for goal in GOALS.values()) + " |")
    print("-" * len(header))
    for k, (steps, guidance, sampler, rescale) in enumerate(settings):
        pictures, accuracy, seconds = run_setting(
            engine, model, scenes, steps, guidance, sampler, args.size, args.seed, rescale
        )
        marks = " ".join(f"{accuracy[name]:>9.1%}{' ' if accuracy[name] >= GOALS[name] else '*'}" for name in GOALS)
        print(
            f"{sampler:18s} {steps:5d} {guidance:5.1f} {rescale:4.1f} | {marks} | {seconds / len(scenes):8.3f}",
            flush=True,
        )
        if k == 0 and not args.no_sheet:
            title = (
                f"Demo shapes model, held-out prompts: {sampler}, {steps} steps, CFG {guidance}"
                f"{f', rescale {rescale}' if rescale else ''}, seeds {args.seed}+"
            )
            contact_sheet(pictures, scenes, args.sheet, title)
    print("(* below its goal)")
    steps, guidance, sampler, rescale = settings[0]
    four = GenerationRequest(
        model=model,
        prompt="a large red circle on the left, blue background",
        seed=1,
        steps=steps,
        guidance_scale=guidance,
        guidance_rescale=rescale,
        sampler=sampler,
        width=args.size,
        height=args.size,
        num_images=4,
    )
    times = []
    for _ in range(3):
        started = time.perf_counter()
        engine.generate(four)
        times.append(time.perf_counter() - started)
    print(f"4 images, {sampler}, {steps} steps, CFG {guidance}, {args.size}²: median {sorted(times)[1]:.2f} s of 3")
    if not args.no_sheet:
        print(f"Contact sheet: {args.sheet}")


if __name__ == "__main__":
    main()
