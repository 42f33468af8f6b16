from django import forms


class ProjectForm(forms.Form):
    name = forms.CharField(
        max_length=120, strip=True, widget=forms.TextInput(attrs={"placeholder": "New project name"})
    )
