"""The forms of the studio pages: a project's name, an invitation, an API key, a webhook, and sign-up."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .models import ApiKey, Membership, WebhookEndpoint


class ProjectForm(forms.Form):
    name = forms.CharField(
        max_length=120, strip=True, widget=forms.TextInput(attrs={"placeholder": "New project name"})
    )


class InviteForm(forms.Form):
    user = forms.CharField(
        max_length=254, label="Username or e-mail", widget=forms.TextInput(attrs={"placeholder": "Username or e-mail"})
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.EDITOR)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, strip=True, widget=forms.TextInput(attrs={"placeholder": "What the key is for"})
    )
    role = forms.ChoiceField(choices=ApiKey.Role.choices, initial=ApiKey.Role.EDITOR)
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Expires after (days)",
        widget=forms.NumberInput(attrs={"placeholder": "never"}),
    )


class WebhookSettingsForm(forms.Form):
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices, initial=WebhookEndpoint.Event.values, widget=forms.CheckboxSelectMultiple
    )
    active = forms.BooleanField(required=False, initial=True)


class WebhookForm(WebhookSettingsForm):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/deepimage"}),
    )
    field_order = ["url", "events", "active"]


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Project owners can invite you by this address.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_username(self):
        username = super().clean_username()
        if "@" in username:
            raise forms.ValidationError("A username may not contain “@”; put your address under E-mail.")
        return username
