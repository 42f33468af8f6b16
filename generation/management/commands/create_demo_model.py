from django.conf import settings
from django.core.management.base import BaseCommand

from generation.engine.tiny import save_tiny_sd15_model
from generation.models import ModelEntry

DEMO_NAME = "DeepImage demo (random weights)"
DEMO_DESCRIPTION = (
    "A tiny Stable Diffusion 1.5-shaped pipeline with random weights, built on this machine. "
    "It exercises the whole stack (loading, steps, progress, storage) but draws only noise. "
    "Register a real checkpoint folder or hub id in the catalog for real images."
)


class Command(BaseCommand):
    help = "Build the tiny random-weight demo pipeline (if missing) and register it in the catalog."

    def handle(self, *args, **options):
        folder = settings.DEEPIMAGE_MODELS_DIR / "demo-sd15"
        if not (folder / "model_index.json").exists():
            self.stdout.write(f"Building the demo model in {folder} …")
            save_tiny_sd15_model(folder)
        entry, created = ModelEntry.objects.update_or_create(
            name=DEMO_NAME,
            defaults={
                "kind": ModelEntry.Kind.BASE,
                "origin": ModelEntry.Origin.THIRD_PARTY,
                "family": ModelEntry.Family.SD15,
                "source": str(folder),
                "description": DEMO_DESCRIPTION,
                "default_steps": 20,
                "default_guidance_scale": 7.5,
                "default_width": 256,
                "default_height": 256,
            },
        )
        self.stdout.write(f"{'Registered' if created else 'Up to date'}: {entry.name} (id {entry.id})")
