"""The forms of the studio pages: a project's name, an invitation, and sign-up."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .models import Membership


class ProjectForm(forms.Form):
    name = forms.CharField(
        max_length=120, strip=True, widget=forms.TextInput(attrs={"placeholder": "New project name"})
    )


class InviteForm(forms.Form):
    user = forms.CharField(
        max_length=254, label="Username or e-mail", widget=forms.TextInput(attrs={"placeholder": "Username or e-mail"})
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.EDITOR)


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
