"""Serializers of the project and member API."""

from rest_framework import serializers

from ..models import Membership


class ProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=120)
    role = serializers.CharField(read_only=True)


class MemberSerializer(serializers.ModelSerializer):
    """A member; the e-mail only for owners (context `show_email`), who manage the members."""

    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    # Not read_only, so that the schema shows it as optional: only owners get it. Output only.
    email = serializers.CharField(source="user.email", required=False)

    class Meta:
        model = Membership
        fields = ["user", "username", "email", "role", "created_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("show_email"):
            data.pop("email")
        return data


class InviteSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="A username or an e-mail address of an existing user.")
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.EDITOR)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
