"""What happens to results after they exist: the saved set, deletion, archives and lineage."""

import io
import json
import zipfile

from django.db import transaction
from django.urls import reverse
from django.utils.text import slugify

from .engine.metadata import a1111_parameters
from .models import GeneratedImage, GenerationSession

# The parameters a lineage step can change, in the order people read them.
LINEAGE_KEYS = (
    "mode",
    "model",
    "adapters",
    "prompt",
    "negative_prompt",
    "seed",
    "width",
    "height",
    "steps",
    "guidance_scale",
    "sampler",
    "strength",
    "resize_mode",
    "eta",
    "clip_skip",
    "guidance_rescale",
)
MAX_ANCESTORS = 200
MAX_DESCENDANTS = 300


def image_set_saved(image: GeneratedImage, saved: bool) -> GeneratedImage:
    """Put the image in the project's saved set, or take it out."""
    image.saved = saved
    image.save(update_fields=["saved"])
    return image


def session_save_all(session: GenerationSession) -> int:
    return session.images.update(saved=True)


@transaction.atomic
def image_delete(image: GeneratedImage) -> None:
    """Delete the image (its file goes after commit). Images made from it keep a
    "deleted parent" marker, so their lineage ends visibly instead of silently."""
    image.children.update(parent=None, parent_deleted=True)
    image.delete()


def descriptive_stem(session: GenerationSession) -> str:
    return f"deepimage-{session.pk}-{slugify(session.prompt)[:40] or session.mode}"


def image_file_name(image: GeneratedImage) -> str:
    """session, position, seed and prompt: sortable, and telling without opening the file."""
    return f"{descriptive_stem(image.session)}-{image.index + 1}-seed{image.seed}.png"


def signed_file_url(image: GeneratedImage, download: bool = False) -> str | None:
    """A short-lived signed URL when files live in a bucket; None for local files, which the
    app streams itself (the members-only check has been made by the caller either way)."""
    storage = image.file.storage
    if not getattr(storage, "querystring_auth", False):
        return None
    disposition = "attachment" if download else "inline"
    return storage.url(
        image.file.name,
        parameters={
            "ResponseContentDisposition": f'{disposition}; filename="{image_file_name(image)}"',
            "ResponseContentType": "image/png",
        },
    )


def archive_name(session: GenerationSession) -> str:
    return f"{descriptive_stem(session)}.zip"


def session_archive(session: GenerationSession) -> bytes:
    """A ZIP of the session's images (each PNG keeps its parameters inside), a text file
    of A1111 parameters per image, and the session's parameters as JSON."""
    parameters = session.parameters()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        images = list(session.images.all())
        for image in images:
            image.session = session  # for its file name, without a query per image
            stem = image_file_name(image).removesuffix(".png")
            with image.file.open("rb") as handle:
                archive.writestr(f"{stem}.png", handle.read())
            archive.writestr(f"{stem}.txt", a1111_parameters({**parameters, "seed": image.seed}) + "\n")
        listed = [{"index": image.index, "seed": image.seed, "saved": image.saved} for image in images]
        archive.writestr("parameters.json", json.dumps({**parameters, "images": listed}, indent=2, default=str))
    return buffer.getvalue()


def lineage_parameters(image: GeneratedImage) -> dict:
    """What made this image, in comparable form (adapters as "name × weight")."""
    session = image.session
    values = {key: getattr(session, key) for key in LINEAGE_KEYS if key not in ("model", "adapters", "seed")}
    values["mode"] = session.get_mode_display()
    values["resize_mode"] = session.get_resize_mode_display()
    values["model"] = session.model.name
    values["seed"] = image.seed
    values["adapters"] = ", ".join(f"{used.adapter.name} × {used.weight:g}" for used in session.adapters_used.all())
    return values


def parameter_changes(before: dict | None, after: dict) -> list[dict]:
    if before is None:
        return []
    return [{"name": key, "from": before[key], "to": after[key]} for key in LINEAGE_KEYS if before[key] != after[key]]


def lineage_images():
    return GeneratedImage.objects.select_related("session__model", "session__created_by").prefetch_related(
        "session__adapters_used__adapter"
    )


def lineage_node(image: GeneratedImage, parameters: dict, parent_parameters: dict | None) -> dict:
    session = image.session
    return {
        "id": image.pk,
        "session": session.pk,
        "url": reverse("api:image-file", args=[image.pk]),
        "page": reverse("studio:image", args=[session.project_id, image.pk]),
        "seed": image.seed,
        "width": image.width,
        "height": image.height,
        "mode": session.mode,
        "mode_label": session.get_mode_display(),
        "model": session.model.name,
        "prompt": session.prompt,
        "created_by": session.created_by.username if session.created_by else None,
        "created_at": image.created_at.isoformat(),
        "saved": image.saved,
        "parent": image.parent_id,
        "parent_deleted": image.parent_deleted,
        "changes": parameter_changes(parent_parameters, parameters),
    }


def image_lineage(image: GeneratedImage) -> dict:
    """The image, its ancestors back to the first generation (oldest first) and its
    descendants as a tree; each step lists the parameters that changed from its parent."""
    image = lineage_images().get(pk=image.pk)
    chain = [image]
    while chain[-1].parent_id and len(chain) <= MAX_ANCESTORS:
        chain.append(lineage_images().get(pk=chain[-1].parent_id))
    chain.reverse()  # oldest first
    parameters = [lineage_parameters(node) for node in chain]
    nodes = [
        lineage_node(node, parameters[index], parameters[index - 1] if index else None)
        for index, node in enumerate(chain)
    ]
    descendants, truncated = descendant_tree(image, parameters[-1])
    return {
        "image": nodes[-1],
        "ancestors": nodes[:-1],
        "starts_at_deleted_image": chain[0].parent_deleted,
        "descendants": descendants,
        "truncated": truncated,
    }


def descendant_tree(root: GeneratedImage, root_parameters: dict) -> tuple[list[dict], bool]:
    """Children level by level (one query per generation), nested under their parents;
    True as well when more than MAX_DESCENDANTS were left out."""
    parameters_of = {root.pk: root_parameters}
    children_of: dict[int, list[dict]] = {root.pk: []}
    level, truncated = [root.pk], False
    while level and not truncated:
        room = MAX_DESCENDANTS - (len(children_of) - 1)
        batch = list(lineage_images().filter(parent_id__in=level).order_by("created_at", "id")[: room + 1])
        truncated, batch = len(batch) > room, batch[:room]
        level = []
        for child in batch:
            parameters_of[child.pk] = lineage_parameters(child)
            node = lineage_node(child, parameters_of[child.pk], parameters_of[child.parent_id]) | {"children": []}
            children_of[child.pk] = node["children"]
            children_of[child.parent_id].append(node)
            level.append(child.pk)
    return children_of[root.pk], truncated
