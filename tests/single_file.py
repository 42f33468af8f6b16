"""Export a tiny diffusers SD pipeline as an original (LDM) single-file checkpoint.

Community models ship as one .safetensors in the original Stable Diffusion layout. No such
file can be downloaded here, so the tests write one from a tiny pipeline: the exact
inverse of the key mapping diffusers' `from_single_file` applies when it reads one.
"""

import re
from pathlib import Path

import torch
from safetensors.torch import save_file

RESNET_RENAMES = (
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
)
UNET_LAYERS = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
VAE_ATTENTION_RENAMES = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _resnet(rest: str) -> str:
    for diffusers_name, ldm_name in RESNET_RENAMES:
        rest = rest.replace(diffusers_name, ldm_name)
    return rest


def unet_key(key: str, layers_per_block: int, attention_up_blocks: set[int]) -> str:
    stride = layers_per_block + 1
    for diffusers_name, ldm_name in UNET_LAYERS.items():
        if key.startswith(diffusers_name + "."):
            return ldm_name + key[len(diffusers_name) :]
    if match := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        block, kind, layer, rest = int(match[1]), match[2], int(match[3]), match[4]
        index = block * stride + layer + 1
        return f"input_blocks.{index}.0.{_resnet(rest)}" if kind == "resnets" else f"input_blocks.{index}.1.{rest}"
    if match := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"input_blocks.{(int(match[1]) + 1) * stride}.0.op.{match[2]}"
    if match := re.match(r"mid_block\.resnets\.(\d+)\.(.*)", key):
        return f"middle_block.{2 * int(match[1])}.{_resnet(match[2])}"
    if key.startswith("mid_block.attentions.0."):
        return "middle_block.1." + key.removeprefix("mid_block.attentions.0.")
    if match := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        block, kind, layer, rest = int(match[1]), match[2], int(match[3]), match[4]
        index = block * stride + layer
        return f"output_blocks.{index}.0.{_resnet(rest)}" if kind == "resnets" else f"output_blocks.{index}.1.{rest}"
    if match := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        block = int(match[1])
        slot = 2 if block in attention_up_blocks else 1
        return f"output_blocks.{block * stride + layers_per_block}.{slot}.conv.{match[2]}"
    raise KeyError(key)


def vae_key(key: str, up_blocks: int) -> str:
    key = key.replace("conv_norm_out", "norm_out")
    if match := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)", key):
        return f"{match[1]}.mid.block_{int(match[2]) + 1}.{match[3].replace('conv_shortcut', 'nin_shortcut')}"
    if match := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.*)", key):
        rest = match[2]
        for diffusers_name, ldm_name in VAE_ATTENTION_RENAMES.items():
            rest = rest.replace(diffusers_name + ".", ldm_name + ".")
        return f"{match[1]}.mid.attn_1.{rest}"
    if match := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
        return f"encoder.down.{match[1]}.block.{match[2]}.{match[3].replace('conv_shortcut', 'nin_shortcut')}"
    if match := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"encoder.down.{match[1]}.downsample.conv.{match[2]}"
    if match := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
        block = up_blocks - 1 - int(match[1])
        return f"decoder.up.{block}.block.{match[2]}.{match[3].replace('conv_shortcut', 'nin_shortcut')}"
    if match := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        return f"decoder.up.{up_blocks - 1 - int(match[1])}.upsample.conv.{match[2]}"
    return key


def export_single_file(pipeline, path: Path) -> Path:
    """Write `pipeline` (SD 1.5 shape) as an LDM-layout .safetensors checkpoint."""
    unet_config = pipeline.unet.config
    attention_up_blocks = {i for i, name in enumerate(unet_config.up_block_types) if "CrossAttn" in name}
    checkpoint = {}
    for key, tensor in pipeline.unet.state_dict().items():
        ldm = unet_key(key, unet_config.layers_per_block, attention_up_blocks)
        checkpoint["model.diffusion_model." + ldm] = tensor
    up_blocks = len(pipeline.vae.config.up_block_types)
    for key, tensor in pipeline.vae.state_dict().items():
        if ".mid_block.attentions." in key and tensor.ndim == 2:
            tensor = tensor[:, :, None, None]  # the original VAE attention is 1×1 convolutions
        checkpoint["first_stage_model." + vae_key(key, up_blocks)] = tensor
    for key, tensor in pipeline.text_encoder.state_dict().items():
        # transformers 5 drops the "text_model." level that original checkpoints carry
        checkpoint["cond_stage_model.transformer.text_model." + key.removeprefix("text_model.")] = tensor
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: tensor.contiguous() for key, tensor in checkpoint.items()}, str(path))
    return path


def same_weights(first, second) -> bool:
    state = second.state_dict()
    return all(torch.equal(tensor, state[key]) for key, tensor in first.state_dict().items())
