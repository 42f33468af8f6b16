"""`manage.py verify_adapter <id or name>`: the largest pixel difference between an adapter
applied unmerged and fused."""

from django.core.management.base import BaseCommand, CommandError

from generation.catalog import adapter_verify

TOLERANCE = 1 / 255  # one pixel level


class Command(BaseCommand):
    help = (
        "Generate with a catalog adapter unmerged and fused into the weights, at a fixed seed, "
        "and print the largest pixel difference (0–1 scale). Exits with an error above one pixel level."
    )

    def add_arguments(self, parser):
        parser.add_argument("entry", help="The adapter's catalog id or exact name.")
        parser.add_argument("--weight", type=float, default=1.0)
        parser.add_argument("--seed", type=int, default=1234)
        parser.add_argument("--steps", type=int, default=None, help="Default: the base model's default steps.")
        parser.add_argument("--size", type=int, default=None, help="Square side; default: the base model's width.")

    def handle(self, *args, entry, weight, seed, steps, size, **options):
        try:
            adapter, difference = adapter_verify(entry, weight=weight, seed=seed, steps=steps, size=size)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{adapter.name} on {adapter.base_model.name}: max pixel difference {difference:.3g}")
        if difference > TOLERANCE:
            raise CommandError(f"Unmerged and fused outputs differ by more than one pixel level ({TOLERANCE:.3g}).")
        self.stdout.write(self.style.SUCCESS("Unmerged and fused outputs agree."))
