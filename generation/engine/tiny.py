"""Tiny random-weight pipelines and adapters with the real wiring of each family.

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
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from .adapters import kohya_name

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


SD_BETAS = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1}
XL_TIME_EMBED_DIM = 8


def tiny_unet(cross_attention_dim: int, in_channels: int = 4, **extra) -> UNet2DConditionModel:
    # Cross-attention only at the lower-resolution level keeps 512² runs fast on a CPU.
    return UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=64,
        in_channels=in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=8,
        norm_num_groups=32,
        **extra,
    )


def tiny_vae(**extra) -> AutoencoderKL:
    # Four blocks keep the real VAE scale factor of 8 (pixels per latent cell).
    return AutoencoderKL(
        block_out_channels=(32, 32, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=64,
        **extra,
    )


def tiny_text_config(tokenizer: CLIPTokenizer, **extra) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_HIDDEN_SIZE,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=3,
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


def tiny_tokenizer() -> CLIPTokenizer:
    with tempfile.TemporaryDirectory() as scratch:
        return write_tiny_tokenizer(Path(scratch))


def build_tiny_pipeline(family: str = "sd15", seed: int = 0, inpainting: bool = False):
    """A pipeline of `family`'s shape (a few MB) with seeded random weights.

    sd15: PNDM like the original release; sd21: v-prediction with DDIM and linear
    projections like SD 2.1-768; sdxl: two text encoders and the size/crop conditioning;
    sdxl-turbo: the SDXL shape with Euler a on trailing timesteps. `inpainting` gives the
    9-channel UNet of inpainting checkpoints.
    """
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    in_channels = 9 if inpainting else 4
    if family in ("sd15", "sd21"):
        v_prediction = family == "sd21"
        unet = tiny_unet(TEXT_HIDDEN_SIZE, in_channels, use_linear_projection=v_prediction)
        scheduler = (
            DDIMScheduler(**SD_BETAS, prediction_type="v_prediction", clip_sample=False, set_alpha_to_one=False)
            if v_prediction
            else PNDMScheduler(**SD_BETAS, skip_prk_steps=True)
        )
        return StableDiffusionPipeline(
            unet=unet,
            vae=tiny_vae(),
            text_encoder=CLIPTextModel(tiny_text_config(tokenizer)),
            tokenizer=tokenizer,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    unet = tiny_unet(
        TEXT_HIDDEN_SIZE * 2,
        in_channels,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=XL_TIME_EMBED_DIM,
        # six size/crop numbers, each embedded, plus the pooled second text embedding
        projection_class_embeddings_input_dim=6 * XL_TIME_EMBED_DIM + TEXT_HIDDEN_SIZE,
    )
    if family == "sdxl-turbo":
        scheduler = EulerAncestralDiscreteScheduler(**SD_BETAS, timestep_spacing="trailing")
    else:
        scheduler = EulerDiscreteScheduler(**SD_BETAS, timestep_spacing="leading")
    return StableDiffusionXLPipeline(
        unet=unet,
        vae=tiny_vae(force_upcast=True),
        text_encoder=CLIPTextModel(tiny_text_config(tokenizer)),
        text_encoder_2=CLIPTextModelWithProjection(tiny_text_config(tokenizer, projection_dim=TEXT_HIDDEN_SIZE)),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        scheduler=scheduler,
    )


def build_tiny_sd15_pipeline(seed: int = 0) -> StableDiffusionPipeline:
    return build_tiny_pipeline("sd15", seed)


def save_tiny_model(folder: Path, family: str = "sd15", seed: int = 0, inpainting: bool = False) -> Path:
    """Build a tiny pipeline and save it as a diffusers folder; returns the folder."""
    folder = Path(folder)
    build_tiny_pipeline(family, seed, inpainting).save_pretrained(folder, safe_serialization=True)
    return folder


def save_tiny_sd15_model(folder: Path, seed: int = 0) -> Path:
    return save_tiny_model(folder, "sd15", seed)


ATTENTION_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]


def _trained_unet_adapter(unet, config, seed: int) -> dict[str, torch.Tensor]:
    """Inject `config` into a copy of `unet` with random (non-zero) adapter weights."""
    import copy

    from peft import get_peft_model_state_dict, inject_adapter_in_model

    torch.manual_seed(seed)
    trained = copy.deepcopy(unet)
    inject_adapter_in_model(config, trained, adapter_name="default")
    with torch.no_grad():
        for name, parameter in trained.named_parameters():
            if "lora_" in name or "hada_" in name or "lokr_" in name:
                parameter.copy_(torch.randn_like(parameter) * 0.3)
    return get_peft_model_state_dict(trained, adapter_name="default")


def save_tiny_adapter(path: Path, pipeline, kind: str = "lora", rank: int = 4, seed: int = 1) -> Path:
    """Save a tiny adapter for `pipeline`'s UNet as one .safetensors file.

    kind: "lora" (diffusers format with PEFT metadata), "kohya" (kohya names with alpha
    tensors, as community LoRAs ship), "dylora" (a kohya file at full rank, meant to be
    sliced), "loha" and "lokr" (PEFT names with the PEFT config in the metadata), and
    "loha-kohya" / "lokr-kohya" (the same weights under LyCORIS' kohya names with an alpha
    tensor per layer and no PEFT config, as LyCORIS-trained files ship).
    """
    from peft import LoHaConfig, LoKrConfig, LoraConfig
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    common = {"r": rank, "target_modules": ATTENTION_TARGETS}
    if kind in ("lora", "kohya", "dylora"):
        config = LoraConfig(lora_alpha=rank, init_lora_weights=False, **common)
        state = _trained_unet_adapter(pipeline.unet, config, seed)
        if kind == "lora":
            type(pipeline).save_lora_weights(
                path.parent,
                unet_lora_layers=state,
                weight_name=path.name,
                unet_lora_adapter_metadata=config.to_dict(),
            )
            return path
        kohya = {}
        for key, tensor in state.items():
            module, _, rest = key.partition(".lora_")
            name = kohya_name(module)
            kohya[f"{name}.lora_{'down' if rest.startswith('A') else 'up'}.weight"] = tensor
            kohya[f"{name}.alpha"] = torch.tensor(float(rank))
        save_file(kohya, str(path), metadata={"ss_network_module": "networks.lora"})
        return path
    lycoris, _, naming = kind.partition("-")
    config_class = {"loha": LoHaConfig, "lokr": LoKrConfig}[lycoris]
    config = config_class(alpha=rank, init_weights=False, **common)
    state = _trained_unet_adapter(pipeline.unet, config, seed)
    if naming == "kohya":
        renamed = {}
        for key, tensor in state.items():
            module, _, parameter = key.rpartition(".")
            name = kohya_name(module)
            renamed[f"{name}.{parameter}"] = tensor
            renamed[f"{name}.alpha"] = torch.tensor(float(rank))
        save_file(renamed, str(path), metadata={"ss_network_module": "lycoris.kohya"})
        return path
    metadata = {"config": json.dumps({"r": rank, "alpha": rank, "peft_type": lycoris.upper()})}
    save_file({key: tensor.contiguous() for key, tensor in state.items()}, str(path), metadata=metadata)
    return path
