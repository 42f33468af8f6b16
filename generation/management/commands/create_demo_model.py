from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation.models import ModelEntry

DEMO_NAME = "DeepImage demo: shapes"
OLD_DEMO_NAME = "DeepImage demo (random weights)"  # what this command registered before the trained model
DEMO_DESCRIPTION = (
    "A small Stable Diffusion 1.5-architecture model trained from scratch on a CPU (tools/train_demo_model.py), "
    "128×128. It draws a circle, square or triangle in the colour you name (red, orange, yellow, green, blue, "
    "purple, white or black) on the background colour you name, small or large, on the left, right, top, bottom "
    "or in the centre. Shapes come out slightly rounded, and about one in six is not the shape named. "
    'Prompt in plain words, e.g. "a large red circle on the left, blue background"; other words are ignored. '
    "Guidance runs on the first 60 % of the steps (its default guidance end); so set, guidance 2 to 7 all draw "
    "well, while guided to the last step, shapes pinch from guidance 5 up. Karras samplers of the DPM++ 2M family "
    "do not suit its zero-terminal-SNR schedule."
)
ADAPTER_NAME = "DeepImage demo: outline shapes (LoRA)"
ADAPTER_DESCRIPTION = (
    "A LoRA trained on the demo shapes model: the same prompts, shapes drawn as outlines instead of filled."
)
# Chosen with bench/demo_quality.py (Euler, 12/20/30 steps, CFG 1 to 7, guidance ending at 0.5 to 1): guided to the
# last step, shapes are best at CFG 2 and pinch from 5 up. Ending guidance at 0.6 of the steps keeps them at CFG 3 to
# 7 (CFG 5 there draws as well as CFG 2 to the end) for a fifth less UNet work, and a user who raises guidance is safe.
DEFAULTS = {
    "default_steps": 20,
    "default_guidance_scale": 5.0,
    "default_guidance_end": 0.6,
    "default_width": 128,
    "default_height": 128,
    "default_sampler": "Euler",
}


class Command(BaseCommand):
    help = "Register the committed demo model (models/demo-shapes) and its outline LoRA in the catalog."

    def handle(self, *args, **options):
        folder = settings.BASE_DIR / "models" / "demo-shapes"
        lora = settings.BASE_DIR / "models" / "demo-shapes-outline-lora.safetensors"
        if not (folder / "model_index.json").exists():
            raise CommandError(f"The demo model is missing from {folder}: run `python tools/train_demo_model.py`.")
        entry, created = ModelEntry.objects.update_or_create(
            name=DEMO_NAME,
            defaults={
                "kind": ModelEntry.Kind.BASE,
                "origin": ModelEntry.Origin.CUSTOMIZED,
                "family": ModelEntry.Family.SD15,
                "source": str(folder),
                "config": "",
                "description": DEMO_DESCRIPTION,
                **DEFAULTS,
            },
        )
        self.stdout.write(f"{'Registered' if created else 'Up to date'}: {entry.name} (id {entry.id})")
        # Pictures made with the old noise model keep their catalog row; it leaves the picker.
        if ModelEntry.objects.filter(name=OLD_DEMO_NAME, enabled=True).update(enabled=False):
            self.stdout.write(f"Disabled the old random-weight demo entry: {OLD_DEMO_NAME}")
        if not lora.exists():
            self.stdout.write(f"No demo adapter at {lora}: skipped.")
            return
        adapter, created = ModelEntry.objects.update_or_create(
            name=ADAPTER_NAME,
            defaults={
                "kind": ModelEntry.Kind.ADAPTER,
                "origin": ModelEntry.Origin.CUSTOMIZED,
                "family": ModelEntry.Family.SD15,
                "source": str(lora),
                "base_model": entry,
                "description": ADAPTER_DESCRIPTION,
            },
        )
        self.stdout.write(f"{'Registered' if created else 'Up to date'}: {adapter.name} (id {adapter.id})")
