"""Generated files in an S3-compatible bucket, end to end against a real S3 HTTP server on
localhost (moto's server mode, started here): a generation's PNGs are uploaded, a member's
file URL redirects to a signed URL that downloads the same bytes, an outsider gets 404,
deleting the image deletes the object, and a delete the bucket refuses is logged and left for
`purge_orphan_files`."""

import urllib.request
from io import StringIO

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from deepimage_site import stack

pytestmark = pytest.mark.django_db
BUCKET = "deepimage-test"


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = stack.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_server, settings):
    """The default storage is the bucket, as DEEPIMAGE_S3_BUCKET makes it."""
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=s3_server, **keys)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "file_overwrite": False,
                "signature_version": "s3v4",
            },
        }
    }
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_a_generation_s_pngs_go_to_the_bucket_and_members_download_them_signed(team, bucket, generated, api_as):
    session = generated(num_images=2)
    image = session.images.order_by("index").first()

    assert keys(bucket) == sorted(stored.file.name for stored in session.images.all())
    answer = api_as(team.vera).get(f"/api/v1/images/{image.id}/file/")
    assert answer.status_code == 302 and "X-Amz-Signature=" in answer["Location"]
    with urllib.request.urlopen(answer["Location"], timeout=10) as download:
        downloaded = download.read()
    stored = bucket.get_object(Bucket=BUCKET, Key=image.file.name)["Body"].read()
    assert downloaded == stored and downloaded.startswith(b"\x89PNG")
    assert api_as(team.charlie).get(f"/api/v1/images/{image.id}/file/").status_code == 404


def test_deleting_an_image_deletes_its_object(team, bucket, generated, api_as, django_capture_on_commit_callbacks):
    session = generated(num_images=2)
    first, second = session.images.order_by("index")

    with django_capture_on_commit_callbacks(execute=True):
        assert api_as(team.bob).delete(f"/api/v1/images/{first.id}/").status_code == 204

    assert keys(bucket) == [second.file.name]


def test_a_refused_delete_is_logged_and_purge_orphan_files_removes_it_later(
    team, bucket, generated, api_as, django_capture_on_commit_callbacks, caplog
):
    image = generated(num_images=1).images.first()
    s3 = default_storage._wrapped  # the S3Storage itself, for the length of the refusal

    def refuse(name):
        raise OSError("AccessDenied")

    s3.delete = refuse
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert api_as(team.bob).delete(f"/api/v1/images/{image.id}/").status_code == 204
    finally:
        del s3.delete

    assert keys(bucket) == [image.file.name] and "AccessDenied" in caplog.text
    listed = StringIO()
    call_command("purge_orphan_files", "--min-age-minutes", "0", stdout=listed)
    assert image.file.name in listed.getvalue()
    call_command("purge_orphan_files", "--delete", "--min-age-minutes", "0", stdout=StringIO())
    assert keys(bucket) == []
