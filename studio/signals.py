"""Signal receivers: a changed password rotates the user's API token; a membership that ends
revokes the project API keys its member made there."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from .api_keys import api_keys_revoke_for_member
from .models import Membership


@receiver(pre_save, sender=get_user_model())
def revoke_token_on_password_change(sender, instance, **kwargs):
    """Whatever changed the password (the password page, the admin, a reset), the old API token
    stops working; the user gets a new one from POST /api/v1/auth/token/."""
    if instance.pk is None:
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        Token.objects.filter(user_id=instance.pk).delete()


@receiver(post_delete, sender=Membership)
def revoke_api_keys_of_a_leaving_member(sender, instance, **kwargs):
    """However the membership ends (the members page, the API, the admin), the keys its member
    made for the project are revoked for good: being invited again does not bring them back."""
    api_keys_revoke_for_member(instance.project_id, instance.user_id)
