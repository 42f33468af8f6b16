"""Signal receivers: a changed password rotates the user's API token."""

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token


@receiver(pre_save, sender=get_user_model())
def revoke_token_on_password_change(sender, instance, **kwargs):
    """Whatever changed the password (the password page, the admin, a reset), the old API token
    stops working; the user gets a new one from POST /api/v1/auth/token/."""
    if instance.pk is None:
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        Token.objects.filter(user_id=instance.pk).delete()
