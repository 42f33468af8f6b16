"""`manage.py create_api_key --user U --project P`: a project API key for scripts; printed once."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from studio.api_keys import api_key_create
from studio.models import ApiKey, Project


class Command(BaseCommand):
    help = "Create an API key acting as a user inside one project; the key is printed once (only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The username the key acts as.")
        parser.add_argument("--project", required=True, help="The project's id or exact name.")
        parser.add_argument("--role", choices=ApiKey.Role.values, default=ApiKey.Role.EDITOR)
        parser.add_argument("--expires", type=int, metavar="DAYS", help="Days until the key expires (default: never).")
        parser.add_argument("--name", default="", help="A name to tell the key apart (default: made up).")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        project = project_named(options["project"])
        name = options["name"] or f"{user.username} (command line)"
        try:
            new = api_key_create(
                project=project, user=user, name=name, role=options["role"], expires_in_days=options["expires"]
            )
        except (PermissionDenied, ValidationError) as error:
            raise CommandError(" ".join(getattr(error, "messages", [str(error)]))) from None
        self.stderr.write(f"Key {new.key.prefix}… for {user.username} in “{project.name}” ({new.key.role}).")
        self.stdout.write(new.secret)


def project_named(identifier: str) -> Project:
    projects = Project.objects.filter(id=int(identifier)) if identifier.isdigit() else Project.objects.none()
    projects = projects or Project.objects.filter(name=identifier)
    if len(projects) != 1:
        problem = "No project" if not projects else "Several projects"
        raise CommandError(f"{problem} with the id or name {identifier!r}.")
    return projects[0]
