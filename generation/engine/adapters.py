"""LoRA-family adapters, loaded once into a cached pipeline and selected per job.

Weights are never merged for inference: every adapter stays a separate PEFT layer, so a
job picks its adapters and weights with `set_adapters` in milliseconds and a job without
adapters gets exactly the base model back.

Formats: diffusers/PEFT and kohya LoRA (DyLoRA files are kohya LoRA saved at full rank;
`rank` slices them) load through diffusers' `load_lora_weights`. LoHa and LoKr, which
that loader refuses, are injected with PEFT directly (UNet layers, PEFT or kohya names).
"""

import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open

from .requests import AdapterSpec, GenerationError, WeightsError

LYCORIS_MARKERS = {"loha": ".hada_w1", "lokr": ".lokr_w1"}
LORA_MARKERS = ("lora_A", "lora_B", "lora_down", "lora_up", "lora.down", "lora.up")
COMPONENT_PREFIXES = {"lora_unet_": "unet", "unet.": "unet"}


def kohya_name(module: str) -> str:
    """A UNet module's name in kohya/LyCORIS files: "down_blocks.1…to_q" -> "lora_unet_down_blocks_1…to_q"."""
    return "lora_unet_" + module.replace(".", "_")


def adapter_file(source: str) -> Path:
    """The .safetensors file of an adapter given as a file or a folder holding one."""
    path = Path(source)
    if path.is_dir():
        files = sorted(path.glob("*.safetensors"))
        if len(files) != 1:
            raise WeightsError(f"Adapter folder {source!r} must hold exactly one .safetensors file.")
        path = files[0]
    if not path.is_file():
        raise WeightsError(f"Adapter file {source!r} does not exist.")
    return path


def read_header(path: Path) -> tuple[list[str], dict[str, str]]:
    """The tensor names and metadata of a .safetensors file, without reading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return list(handle.keys()), handle.metadata() or {}
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"Adapter {path.name!r} is not a readable .safetensors file: {error}") from error


def adapter_format(keys: list[str]) -> str:
    for name, marker in LYCORIS_MARKERS.items():
        if any(marker in key for key in keys):
            return name
    if any(marker in key for key in keys for marker in LORA_MARKERS):
        return "lora"
    raise GenerationError("This file holds no LoRA, LoHa or LoKr layers.")


def slice_rank(state_dict: dict, rank: int) -> dict:
    """Keep the first `rank` components of a DyLoRA file (it is trained to allow exactly this)."""
    sliced = {}
    for key, tensor in state_dict.items():
        if "lora_down" in key or "lora_A" in key:
            if rank > tensor.shape[0]:
                raise GenerationError(f"Rank {rank} is higher than the file's rank {tensor.shape[0]}.")
            tensor = tensor[:rank]
        elif "lora_up" in key or "lora_B" in key:
            tensor = tensor[:, :rank]
        sliced[key] = tensor.contiguous()
    return sliced


def load_adapter(pipeline, spec: AdapterSpec, adapter_name: str) -> None:
    """Load the adapter into `pipeline` as `adapter_name`; GenerationError if it does not fit."""
    path = adapter_file(spec.source)
    keys, metadata = read_header(path)
    kind = adapter_format(keys)
    try:
        if kind == "lora" and spec.rank is None:
            # Path, not dict: diffusers reads alpha and ranks from the file's metadata.
            pipeline.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name=adapter_name)
        elif kind == "lora":
            pipeline.load_lora_weights(slice_rank(load_file(str(path)), spec.rank), adapter_name=adapter_name)
        else:
            inject_lycoris(pipeline.unet, load_file(str(path)), metadata, kind, adapter_name)
    except GenerationError:
        raise
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        forget_adapter(pipeline, adapter_name)
        # The library's words (tensor shapes, module names) go to the log with the cause.
        message = f"Adapter {Path(spec.source).name!r} does not fit this model: its layers do not match the model's."
        raise GenerationError(message) from error
    if not any(adapter_name in names for names in pipeline.get_list_adapters().values()):
        forget_adapter(pipeline, adapter_name)
        raise GenerationError(f"Adapter {Path(spec.source).name!r} matched no layer of this model.")


def forget_adapter(pipeline, adapter_name: str) -> None:
    try:
        pipeline.delete_adapters(adapter_name)
    except (ValueError, KeyError, AttributeError):
        pass


def inject_lycoris(unet, state_dict: dict, metadata: dict, kind: str, adapter_name: str) -> None:
    from peft import LoHaConfig, LoKrConfig, inject_adapter_in_model, set_peft_model_state_dict

    module_names = {name for name, _ in unet.named_modules()}
    kohya_names = {kohya_name(name): name for name in module_names}
    layers: dict[str, dict[str, torch.Tensor]] = {}
    alphas: dict[str, float] = {}
    for key, tensor in state_dict.items():
        owner, _, parameter = key.rpartition(".")
        if owner.endswith(".weight"):  # PEFT names such as "...to_q.hada_w1_a.weight"
            owner, _, parameter = owner.rpartition(".")
        module = _module_name(owner, module_names, kohya_names)
        if parameter == "alpha":
            alphas[module] = float(tensor)
        else:
            layers.setdefault(module, {})[parameter] = tensor
    saved = json.loads(metadata.get("config", "{}"))  # PEFT's own config, when the file carries it
    ranks = {module: saved.get("r") or _rank_of(kind, params) for module, params in layers.items()}
    if kind == "lokr" and not saved:
        for module, params in layers.items():
            if "lokr_w1" in params and "lokr_w2" in params:
                alphas[module] = float(ranks[module])  # LyCORIS: two full factors ignore alpha (scale 1)
    default_alpha = float(saved.get("alpha") or max(ranks.values()))
    options = {"decompose_both": any("lokr_w1_a" in params for params in layers.values())} if kind == "lokr" else {}
    if kind == "lokr" and "decompose_factor" in saved:
        options["decompose_factor"] = saved["decompose_factor"]
    config = (LoHaConfig if kind == "loha" else LoKrConfig)(
        r=max(ranks.values()),
        alpha=default_alpha,
        target_modules=sorted(layers),
        rank_pattern={re.escape(module): rank for module, rank in ranks.items()},
        alpha_pattern={re.escape(module): alphas.get(module, default_alpha) for module in ranks},
        **options,
    )
    inject_adapter_in_model(config, unet, adapter_name=adapter_name)
    peft_state = {f"{module}.{param}": tensor for module, params in layers.items() for param, tensor in params.items()}
    result = set_peft_model_state_dict(unet, peft_state, adapter_name=adapter_name)
    if result.unexpected_keys:
        raise ValueError(f"{len(result.unexpected_keys)} layers of the file have no place in this model")
    unet._hf_peft_config_loaded = True  # lets diffusers' set_adapters/fuse_lora manage this adapter


def _module_name(owner: str, module_names: set[str], kohya_names: dict[str, str]) -> str:
    if owner in kohya_names:
        return kohya_names[owner]
    for prefix in ("unet.", "base_model.model."):
        owner = owner.removeprefix(prefix)
    if owner in module_names:
        return owner
    if owner.startswith(("lora_te", "text_encoder")):
        raise ValueError("LoHa/LoKr text-encoder layers are not supported; train the adapter on the UNet only")
    raise ValueError(f"layer {owner!r} does not exist in this model")


def _rank_of(kind: str, params: dict[str, torch.Tensor]) -> int:
    if kind == "loha":
        return params["hada_w1_a"].shape[1]
    for name in ("lokr_w2_a", "lokr_w1_a"):
        if name in params:
            return params[name].shape[1]
    return max(params["lokr_w2"].shape[:2])  # a full w2: any rank this high keeps it whole


def activate_adapters(pipeline, adapter_names: list[str], weights: list[float]) -> None:
    """Select exactly these adapters for the next call (or none): never merged, never reloaded."""
    if not pipeline.get_list_adapters():
        return
    if adapter_names:
        pipeline.enable_lora()
        pipeline.set_adapters(adapter_names, adapter_weights=weights)
    else:
        pipeline.disable_lora()
