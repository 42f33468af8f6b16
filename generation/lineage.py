"""Lineage reads: the chain of images an image was made from, and the tree made from it,
each step with the parameters that changed."""

from django.urls import reverse

from .models import GeneratedImage

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
    "guidance_end",
)
MAX_ANCESTORS = 200
MAX_DESCENDANTS = 300


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
