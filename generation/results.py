"""What happens to results after they exist: the saved set, deletion, file names, signed URLs and archives."""

import io
import json
import zipfile

from django.db import transaction
from django.utils.text import slugify

from .engine.metadata import a1111_parameters
from .models import GeneratedImage, GenerationSession


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
