"""Train the demo model (`models/demo-shapes/`) and its outline LoRA on this CPU.

    python tools/train_demo_model.py                 # the committed model (29 min on a 2-core box)
    python tools/train_demo_model.py --quick         # a smoke run of the whole chain, ~2 min
    python tools/train_demo_model.py --resume 2b     # continue from the models in --out after phase 2b
    python tools/train_demo_model.py --resume vae    # keep --out's VAE, train the rest (--resume 2d: only the LoRA)

Each phase from a fixed seed (2 threads by default: outputs depend on the thread count):
(1) an AutoencoderKL with 4 blocks (scale factor 8) learns the scenes of
`tools/demo_shapes.py` from 48² crops; the scenes are then encoded once; (2a) a
UNet2DConditionModel and a CLIPTextModel (word-level CLIP vocabulary) learn together to
denoise them from their captions with v-prediction (SD 2's objective), 10 % of captions
dropped for classifier-free guidance; (2b) the same with the noisiest timesteps sampled
more often; (2c) also the shape's latent cells weighted up; (2d) the shape's cells still
weighted, timesteps uniform again: the less noisy steps draw the shape's edges and
corners; (3) a PEFT LoRA on the frozen UNet learns to draw the same captions as outlines.
Progress lines go to stdout, every logged loss to `--log`. Combinations that
`demo_shapes.is_held_out` names never appear: the quality bench draws those.
"""

import argparse
import copy
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.demo_shapes import (  # noqa: E402
    COLOURS,
    POSITIONS,
    SIZE,
    Scene,
    caption_of,
    draw_scene,
    held_out_scenes,
    random_scene,
    read_picture,
    score,
    training_scenes,
    write_tokenizer_files,
)

TEXT_HIDDEN = 64
SD_BETAS = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000}
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "conv1", "conv2"]
LORA_RANK = 8
ATTRIBUTES = ("size", "colour", "shape", "position", "background")


class Progress:
    """Periodic progress lines on stdout and every logged value in a TSV file."""

    def __init__(self, log_path: Path):
        self.started = time.perf_counter()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = log_path.open("w")
        self.log.write("phase\tstep\tsteps\telapsed_s\tloss\tlr\n")

    def step(self, phase: str, step: int, steps: int, loss: float, lr: float, every: int, phase_started: float):
        elapsed = time.perf_counter() - self.started
        self.log.write(f"{phase}\t{step}\t{steps}\t{elapsed:.1f}\t{loss:.5f}\t{lr:.2e}\n")
        if step % every == 0 or step == steps:
            self.log.flush()
            rate = (time.perf_counter() - phase_started) / step
            print(
                f"[{phase:4s}] step {step:5d}/{steps} loss {loss:.4f} lr {lr:.1e} "
                f"| {rate:.2f} s/step, phase ETA {rate * (steps - step) / 60:4.1f} min, total {elapsed / 60:4.1f} min",
                flush=True,
            )

    def say(self, text: str):
        print(f"[{(time.perf_counter() - self.started) / 60:5.1f} min] {text}", flush=True)


def lr_at(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup))) + peak * 0.02


def to_tensor(images) -> torch.Tensor:
    array = np.stack([np.asarray(image, dtype=np.float32) for image in images]) / 127.5 - 1.0
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def draw_batch(rng: random.Random, scenes: list[Scene], count: int, outline_share: float) -> list:
    style = lambda: "outline" if rng.random() < outline_share else "filled"  # noqa: E731
    return [draw_scene(random_scene(rng, scenes, style()), rng) for _ in range(count)]


# ---------------------------------------------------------------- phase 1: VAE


def crop_batch(rng: random.Random, scenes: list[Scene], count: int, crop: int) -> list:
    """`count` crops of `crop`² from fresh scenes, most of them around the shape's edge."""
    crops = []
    for _ in range(count):
        scene = random_scene(rng, scenes, "outline" if rng.random() < 0.3 else "filled")
        image = draw_scene(scene, rng)
        if rng.random() < 0.7:
            (fx, fy), _ = POSITIONS[scene.position]
            cx, cy = fx * SIZE + rng.uniform(-28, 28), fy * SIZE + rng.uniform(-28, 28)
        else:
            cx, cy = rng.uniform(0, SIZE), rng.uniform(0, SIZE)
        x = int(min(max(cx - crop / 2, 0), SIZE - crop))
        y = int(min(max(cy - crop / 2, 0), SIZE - crop))
        crops.append(image.crop((x, y, x + crop, y + crop)))
    return crops


def build_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,  # four blocks: the real scale factor of 8
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 32, 64, 64),
        layers_per_block=1,
        latent_channels=4,
        # One group: GroupNorm over all channels keeps each image's absolute colour, which
        # per-channel groups (instance norm) wash out of flat-colour pictures.
        norm_num_groups=1,
        # No attention in the middle: the VAE is then fully convolutional and learns from
        # small crops, many more steps for the same CPU time.
        mid_block_add_attention=False,
        sample_size=SIZE,
    )


def train_vae(args, progress: Progress, scenes: list[Scene]):
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    vae = build_vae()
    with torch.no_grad():
        # Start the posterior's log-variance at -6 (std 0.05): a fresh encoder's std of ~1
        # would drown its means in noise and stall the first few hundred steps.
        vae.encoder.conv_out.bias[vae.config.latent_channels :] -= 6.0
    optimizer = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    started = time.perf_counter()
    vae.train()
    for step in range(1, args.vae_steps + 1):
        lr = lr_at(step - 1, args.vae_steps, args.vae_lr, 100)
        for group in optimizer.param_groups:
            group["lr"] = lr
        pixels = to_tensor(crop_batch(rng, scenes, args.vae_batch, args.vae_crop))
        posterior = vae.encode(pixels).latent_dist
        decoded = vae.decode(posterior.sample()).sample
        # L1 keeps flat colours exact, L2 punishes the odd far-off pixel; a whisper of KL
        # keeps the latent space smooth enough to diffuse in.
        loss = F.l1_loss(decoded, pixels) + F.mse_loss(decoded, pixels) + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        progress.step("vae", step, args.vae_steps, loss.item(), lr, args.print_every, started)
    vae.eval()
    return vae


@torch.no_grad()
def encode_dataset(vae, rng: random.Random, scenes: list[Scene], count: int, style: str, batch: int = 64):
    """Draw `count` scenes and encode them once (the latent mean, unscaled)."""
    drawn, latents, masks = [], [], []
    for start in range(0, count, batch):
        chunk = [random_scene(rng, scenes, style) for _ in range(min(batch, count - start))]
        images = [draw_scene(scene, rng) for scene in chunk]
        latents.append(vae.encode(to_tensor(images)).latent_dist.mean)
        masks.append(torch.stack([latent_mask(image, scene) for image, scene in zip(images, chunk, strict=True)]))
        drawn.extend(chunk)
    return drawn, torch.cat(latents), torch.cat(masks)


def latent_mask(image, scene: Scene) -> torch.Tensor:
    """1 on the latent cells the shape touches (and their neighbours), 0 elsewhere: (1, h/8, w/8)."""
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32))
    far = ((pixels - torch.tensor(COLOURS[scene.background], dtype=torch.float32)) ** 2).sum(-1).sqrt() > 60
    cells = F.max_pool2d(far[None, None].float(), 8)
    return F.max_pool2d(cells, 3, stride=1, padding=1)[0]


@torch.no_grad()
def check_vae(vae, seed: int, count: int = 64) -> dict[str, float]:
    """The scorer's accuracy on VAE round trips of held-out scenes (drawings score 100 %)."""
    rng = random.Random(seed + 99)
    scenes = [random_scene(rng, held_out_scenes()) for _ in range(count)]
    images = to_tensor([draw_scene(scene, rng) for scene in scenes])
    decoded = vae.decode(vae.encode(images).latent_dist.mean).sample
    pictures = ((decoded.clamp(-1, 1) + 1) * 127.5).permute(0, 2, 3, 1).numpy()
    totals: dict[str, float] = {}
    for picture, scene in zip(pictures, scenes, strict=True):
        for name, ok in score(read_picture(picture), scene).items():
            totals[name] = totals.get(name, 0) + ok / count
    totals["mae"] = round(float((decoded - images).abs().mean()) * 127.5, 2)
    return {name: round(value, 3) for name, value in totals.items()}


# ---------------------------------------------------------------- phase 2: UNet + text encoder


def build_text_encoder(tokenizer):
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_HIDDEN,
        intermediate_size=TEXT_HIDDEN * 2,
        num_attention_heads=4,
        num_hidden_layers=2,
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = CLIPTextModel(config)
    with torch.no_grad():
        # Words start far apart (CLIP's own 0.02 makes them near-equal): with 0.02 "left" and
        # "right" still gave nearly the same encoding after training, so the UNet never had
        # a position word to follow and never learned to.
        model.get_input_embeddings().weight.normal_(0.0, 1.0)
    return model


def build_unet():
    from diffusers import UNet2DConditionModel

    # Attention at 8² and 4² (and the middle), none at the latent's full 16²: the caption
    # places a shape on a coarse grid, and attention over 256 cells was a third of each step.
    return UNet2DConditionModel(
        sample_size=SIZE // 8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(64, 96, 128),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_HIDDEN,
        attention_head_dim=8,
        norm_num_groups=32,
    )


def build_scheduler(prediction_type: str = "v_prediction"):
    from diffusers import DDPMScheduler, EulerDiscreteScheduler

    # SD 1.5's betas; "trailing" makes sampling start at the last training timestep, so
    # backgrounds come from the prompt rather than the noise.
    # With v-prediction the betas are rescaled to a zero terminal SNR (Lin et al., 2023): at
    # SD's own last timestep 7 % of the picture is still in the noise, enough for a model to
    # read a shape's place from it in training and then take it from pure noise when sampling
    # (shapes wherever the noise leaned, whatever the prompt said). At zero SNR only the
    # caption can say where the shape goes.
    zero_snr = prediction_type == "v_prediction"
    common = {**SD_BETAS, "prediction_type": prediction_type, "rescale_betas_zero_snr": zero_snr}
    training = DDPMScheduler(**common, clip_sample=False)
    sampling = EulerDiscreteScheduler(**common, steps_offset=1, timestep_spacing="trailing")
    return training, sampling


class Captions:
    """Tokenised captions (cached), with attributes dropped at random for robustness."""

    def __init__(self, tokenizer, rng: random.Random, drop_caption: float, drop_attribute: float):
        self.tokenizer, self.rng = tokenizer, rng
        self.drop_caption, self.drop_attribute = drop_caption, drop_attribute
        self.cache: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int]:
        if text not in self.cache:
            self.cache[text] = self.tokenizer(
                text, padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True
            ).input_ids
        return self.cache[text]

    def batch(self, scenes: list[Scene]) -> torch.Tensor:
        texts = []
        for scene in scenes:
            if self.rng.random() < self.drop_caption:
                texts.append("")
                continue
            drop = frozenset(name for name in ATTRIBUTES if self.rng.random() < self.drop_attribute)
            texts.append(caption_of(scene, drop))
        return torch.tensor([self.ids(text) for text in texts])


def diffusion_loss(
    unet, text_encoder, noise_scheduler, latents, ids, generator, noise_offset: float, focus=False, masks=None
):
    """The diffusion loss for the scheduler's prediction type, Min-SNR-5 weighted.

    v-prediction (SD 2's) learns the picture's layout from the noisiest timesteps, where the
    caption alone decides where the shape goes: there v is nearly the clean picture, while
    an epsilon model must get that from a residual the noise is 15 times larger than (it
    learned colours but never positions). `focus` samples half the timesteps from the
    noisiest 40 %; for epsilon it also weights those by 1/SNR (capped at 20), their error
    on the clean picture. `masks` (1 on the shape) weight the shape's cells ×5: a small
    shape is a small part of a plain loss."""
    batch = latents.shape[0]
    noise = torch.randn(latents.shape, generator=generator)
    if noise_offset:  # lets the model move whole-image colour, which plain noise hides
        noise = noise + noise_offset * torch.randn((batch, latents.shape[1], 1, 1), generator=generator)
    steps = noise_scheduler.config.num_train_timesteps
    timesteps = torch.randint(0, steps, (batch,), generator=generator)
    if focus:
        noisy_half = torch.randint(int(steps * 0.6), steps, (batch,), generator=generator)
        timesteps = torch.where(torch.arange(batch) % 2 == 0, timesteps, noisy_half)
    noisy = noise_scheduler.add_noise(latents, noise, timesteps)
    encoded = text_encoder(ids)[0]
    prediction = unet(noisy, timesteps, encoded).sample
    alphas = noise_scheduler.alphas_cumprod[timesteps]
    snr = alphas / (1 - alphas)
    if noise_scheduler.config.prediction_type == "v_prediction":
        target = noise_scheduler.get_velocity(latents, noise, timesteps)
        # v's error is (SNR + 1) × the clean picture's: plain v for the noisy half (the
        # layout, down to zero SNR, where Min-SNR's own min(SNR, 5) / (SNR + 1) would be
        # 0), capped at 5 × the picture's error for the nearly clean timesteps.
        weights = torch.clamp(snr + 1, max=5.0) / (snr + 1)
    else:
        target = noise
        weights = torch.clamp(snr, max=5.0) / snr
        if focus:
            weights = weights * torch.clamp(1 / snr, min=1.0, max=20.0)
    error = F.mse_loss(prediction, target, reduction="none")
    if masks is not None:
        error = error * (1 + 4 * masks)
    per_sample = error.mean(dim=(1, 2, 3))
    return (per_sample * weights).mean()


UNET_PHASES = {
    # name: (progress label, steps flag, lr flag, warmup, noisy timesteps focused, shape cells weighted, seed offset)
    "2a": ("unet", "unet_steps", "unet_lr", 100, False, False, 1),
    "2b": ("unet+", "focus_steps", "focus_lr", 30, True, False, 3),
    "2c": ("shape", "shape_steps", "shape_lr", 30, True, True, 4),
    "2d": ("edge", "edge_steps", "edge_lr", 30, False, True, 5),
}


def train_unet(args, progress: Progress, tokenizer, scenes, latents, masks, phase, unet=None, text_encoder=None):
    """2a: UNet and text encoder from scratch, timesteps uniform. 2b: the noisiest
    timesteps drawn more often, where the caption decides. 2c: the same, the shape's cells
    weighted up too. 2d: the shape's cells weighted, every timestep: its edges."""
    label, steps_flag, lr_flag, warmup, focus, weighted, offset = UNET_PHASES[phase]
    steps, peak = getattr(args, steps_flag), getattr(args, lr_flag)
    torch.manual_seed(args.seed + offset)
    rng = random.Random(args.seed + offset)
    generator = torch.Generator().manual_seed(args.seed + offset)
    if unet is None:
        unet, text_encoder = build_unet(), build_text_encoder(tokenizer)
    noise_scheduler = build_scheduler(args.prediction_type)[0]
    captions = Captions(tokenizer, rng, drop_caption=0.1, drop_attribute=0.08)
    parameters = list(unet.parameters()) + list(text_encoder.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=peak, weight_decay=1e-2)
    unet.train()
    text_encoder.train()
    started = time.perf_counter()
    for step in range(1, steps + 1):
        lr = lr_at(step - 1, steps, peak, warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = torch.randint(0, len(scenes), (args.unet_batch,), generator=generator)
        ids = captions.batch([scenes[i] for i in index.tolist()])
        batch_masks = masks[index] if weighted else None
        loss = diffusion_loss(
            unet, text_encoder, noise_scheduler, latents[index], ids, generator, args.noise_offset, focus, batch_masks
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        progress.step(label, step, steps, loss.item(), lr, args.print_every, started)
    unet.eval()
    text_encoder.eval()
    return unet, text_encoder


# ---------------------------------------------------------------- phase 3: outline LoRA


def train_lora(args, progress: Progress, tokenizer, unet, text_encoder, scenes, latents):
    from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model

    torch.manual_seed(args.seed + 2)
    rng = random.Random(args.seed + 2)
    generator = torch.Generator().manual_seed(args.seed + 2)
    unet = copy.deepcopy(unet)
    unet.requires_grad_(False)
    text_encoder.requires_grad_(False)
    config = LoraConfig(r=LORA_RANK, lora_alpha=LORA_RANK, target_modules=LORA_TARGETS, init_lora_weights=True)
    inject_adapter_in_model(config, unet, adapter_name="default")
    trainable = [p for name, p in unet.named_parameters() if "lora_" in name]
    for parameter in trainable:
        parameter.requires_grad_(True)
    noise_scheduler = build_scheduler(args.prediction_type)[0]
    captions = Captions(tokenizer, rng, drop_caption=0.1, drop_attribute=0.08)
    optimizer = torch.optim.AdamW(trainable, lr=args.lora_lr, weight_decay=0.0)
    unet.train()
    started = time.perf_counter()
    for step in range(1, args.lora_steps + 1):
        lr = lr_at(step - 1, args.lora_steps, args.lora_lr, 30)
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = torch.randint(0, len(scenes), (args.lora_batch,), generator=generator)
        ids = captions.batch([scenes[i] for i in index.tolist()])
        loss = diffusion_loss(unet, text_encoder, noise_scheduler, latents[index], ids, generator, args.noise_offset)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        progress.step("lora", step, args.lora_steps, loss.item(), lr, args.print_every, started)
    return get_peft_model_state_dict(unet, adapter_name="default"), config


# ---------------------------------------------------------------- saving


def save_text_encoder_prefixed(folder: Path) -> None:
    """Rewrite text_encoder/model.safetensors with `text_model.`-prefixed keys.

    transformers 5.23 saves CLIPTextModel without the prefix; older versions (5.5, which
    InvokeAI pins) then start the encoder from random weights without a word. The prefixed
    layout is what every version reads."""
    from safetensors.torch import load_file, save_file

    path = folder / "text_encoder" / "model.safetensors"
    state = load_file(str(path))
    fixed = {key if key.startswith("text_model.") else f"text_model.{key}": value for key, value in state.items()}
    save_file({key: value.contiguous() for key, value in fixed.items()}, str(path), metadata={"format": "pt"})


def save_pipeline(folder: Path, vae, unet, text_encoder, tokenizer, scheduler):
    from diffusers import StableDiffusionPipeline

    pipeline = StableDiffusionPipeline(
        vae=vae,
        unet=unet,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    folder.mkdir(parents=True, exist_ok=True)
    pipeline.save_pretrained(folder, safe_serialization=True)
    save_text_encoder_prefixed(folder)
    return pipeline


def save_lora(path: Path, state: dict, config) -> None:
    from diffusers import StableDiffusionPipeline

    path.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(
        path.parent,
        unet_lora_layers=state,
        weight_name=path.name,
        unet_lora_adapter_metadata=config.to_dict(),  # without it alpha is lost on load
    )


# ---------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "demo-shapes")
    parser.add_argument("--lora-out", type=Path, default=ROOT / "models" / "demo-shapes-outline-lora.safetensors")
    parser.add_argument("--log", type=Path, default=ROOT / "docs" / "demo-training-log.tsv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vae-steps", type=int, default=2500)
    parser.add_argument("--vae-batch", type=int, default=12)
    parser.add_argument("--vae-crop", type=int, default=48, help="side of the training crops (multiple of 8)")
    parser.add_argument("--vae-lr", type=float, default=5e-4)
    parser.add_argument("--images", type=int, default=8000, help="filled scenes encoded for the UNet")
    parser.add_argument("--unet-steps", type=int, default=1300)
    parser.add_argument("--unet-batch", type=int, default=48)
    parser.add_argument("--unet-lr", type=float, default=8e-4)
    parser.add_argument("--focus-steps", type=int, default=600, help="phase 2b: noisy timesteps drawn more often")
    parser.add_argument("--focus-lr", type=float, default=4e-4)
    parser.add_argument("--shape-steps", type=int, default=400, help="phase 2c: shape cells weighted up too")
    parser.add_argument("--shape-lr", type=float, default=3e-4)
    parser.add_argument("--edge-steps", type=int, default=900, help="phase 2d: every timestep, shape cells weighted")
    parser.add_argument("--edge-lr", type=float, default=3e-4)
    parser.add_argument(
        "--resume",
        choices=["vae", "2a", "2b", "2c", "2d"],
        help="continue after this phase from the models in --out (same settings)",
    )
    parser.add_argument("--noise-offset", type=float, default=0.1)
    parser.add_argument("--prediction-type", choices=["v_prediction", "epsilon"], default="v_prediction")
    parser.add_argument("--lora-images", type=int, default=1600, help="outline scenes encoded for the LoRA")
    parser.add_argument("--lora-steps", type=int, default=400)
    parser.add_argument("--lora-batch", type=int, default=32)
    parser.add_argument("--lora-lr", type=float, default=2e-3)
    parser.add_argument("--print-every", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="a few steps of everything: checks the chain, not quality")
    args = parser.parse_args(argv)
    if args.quick:
        args.vae_steps, args.unet_steps, args.focus_steps, args.shape_steps, args.edge_steps = 40, 20, 10, 10, 10
        args.lora_steps = 10
        args.images, args.lora_images, args.print_every = 256, 128, 5
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers import CLIPTokenizer

    progress = Progress(args.log.with_suffix(f".after-{args.resume}.tsv") if args.resume else args.log)
    progress.say(f"Training the demo model into {args.out} with {args.threads} threads, seed {args.seed}")
    scenes = training_scenes()
    tokenizer_dir = args.out / "tokenizer"
    write_tokenizer_files(tokenizer_dir)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)

    if args.resume:  # the phases up to `args.resume` from a previous run with the same settings
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextModel

        vae = AutoencoderKL.from_pretrained(args.out / "vae")
        scaling = vae.config.scaling_factor
        if args.resume != "vae":
            unet = UNet2DConditionModel.from_pretrained(args.out / "unet")
            text_encoder = CLIPTextModel.from_pretrained(args.out / "text_encoder")
        progress.say(f"Resuming from {args.out} after phase {args.resume}")
    else:
        vae = train_vae(args, progress, scenes)
        progress.say(f"VAE round trip on held-out scenes: {check_vae(vae, args.seed)}")
    progress.say("Encoding the training scenes")
    rng = random.Random(args.seed + 10)
    filled_scenes, filled, masks = encode_dataset(vae, rng, scenes, args.images, "filled")
    outline_scenes, outlined, _ = encode_dataset(vae, rng, scenes, args.lora_images, "outline")
    if args.resume in (None, "vae"):
        scaling = 1.0 / float(filled.std())
        vae.register_to_config(scaling_factor=scaling)
        progress.say(f"Latent mean {float(filled.mean()):.3f}, std {float(filled.std()):.3f}: scaling {scaling:.4f}")
        unet = text_encoder = None
    done = list(UNET_PHASES).index(args.resume) + 1 if args.resume in UNET_PHASES else 0
    for phase in list(UNET_PHASES)[done:]:
        unet, text_encoder = train_unet(
            args, progress, tokenizer, filled_scenes, filled * scaling, masks, phase, unet, text_encoder
        )
        save_pipeline(args.out, vae, unet, text_encoder, tokenizer, build_scheduler(args.prediction_type)[1])
        progress.say(f"Saved the pipeline after phase {phase} to {args.out}")

    state, config = train_lora(args, progress, tokenizer, unet, text_encoder, outline_scenes, outlined * scaling)
    save_lora(args.lora_out, state, config)
    progress.say(f"Saved the outline LoRA to {args.lora_out}")
    summary = {"seed": args.seed, "threads": args.threads, "minutes": (time.perf_counter() - progress.started) / 60}
    progress.log.write(f"# {json.dumps(summary)}\n")
    progress.log.close()
    progress.say("Done.")


if __name__ == "__main__":
    main()
