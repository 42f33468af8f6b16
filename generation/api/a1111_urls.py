"""The AUTOMATIC1111-compatible API's routes; deepimage_site/urls.py mounts them at /sdapi/v1/."""

from django.urls import path

from . import a1111

urlpatterns = [
    path("txt2img", a1111.txt2img),
    path("img2img", a1111.img2img),
    path("progress", a1111.progress),
    path("interrupt", a1111.interrupt),
    path("skip", a1111.interrupt),  # one job per batch: skipping the current image ends it
    path("options", a1111.options),
    path("sd-models", a1111.sd_models),
    path("samplers", a1111.samplers),
    path("schedulers", a1111.schedulers),
    path("loras", a1111.loras),
    path("upscalers", a1111.upscalers),
    path("sd-vae", a1111.sd_vae),
    path("embeddings", a1111.embeddings),
    path("scripts", a1111.scripts),
    path("png-info", a1111.png_info),
    path("refresh-checkpoints", a1111.refresh),
    path("refresh-loras", a1111.refresh),
]
