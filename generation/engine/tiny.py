"""Tiny random-weight pipelines with the real Stable Diffusion 1.5 wiring.

No weights can be downloaded on our CI or development machines, so the demo model and
the test fixtures are built here from diffusers/transformers configs. The result is a
normal diffusers folder: it loads through the same `from_pretrained` path as a real
checkpoint and produces noise images of the requested size.
"""

import json
import string
import tempfile
from pathlib import Path

import torch
from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

TEXT_HIDDEN_SIZE = 32
SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")


def write_tiny_tokenizer(folder: Path) -> CLIPTokenizer:
    """Write a character-level CLIP vocabulary (no merges) and load a tokenizer from it."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = string.ascii_lowercase + string.digits + string.punctuation
    tokens = list(symbols) + [f"{symbol}</w>" for symbol in symbols] + list(SPECIAL_TOKENS)
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    # Without model_max_length transformers assumes a huge default and prompts never truncate.
    config = {
        "model_max_length": 77,
        "bos_token": SPECIAL_TOKENS[0],
        "eos_token": SPECIAL_TOKENS[1],
        "unk_token": SPECIAL_TOKENS[1],
        "pad_token": SPECIAL_TOKENS[1],
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return CLIPTokenizer.from_pretrained(folder)


def build_tiny_sd15_pipeline(seed: int = 0) -> StableDiffusionPipeline:
    """Return an SD-1.5-shaped pipeline (about 8 MB) with seeded random weights."""
    torch.manual_seed(seed)
    # Cross-attention only at the lower-resolution level keeps 512² runs fast on a CPU.
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=64,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_HIDDEN_SIZE,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    # Four blocks keep the real VAE scale factor of 8 (pixels per latent cell).
    vae = AutoencoderKL(
        block_out_channels=(32, 32, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=64,
    )
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = write_tiny_tokenizer(Path(scratch))
    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_HIDDEN_SIZE,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        skip_prk_steps=True,
        steps_offset=1,
    )
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=CLIPTextModel(text_config),
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def save_tiny_sd15_model(folder: Path, seed: int = 0) -> Path:
    """Build the tiny pipeline and save it as a diffusers folder; returns the folder."""
    folder = Path(folder)
    build_tiny_sd15_pipeline(seed).save_pretrained(folder, safe_serialization=True)
    return folder
