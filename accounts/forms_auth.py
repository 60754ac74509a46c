"""Forms of sign-in, second factor, single sign-on and the Security page."""

from __future__ import annotations

from django import forms


class Form(forms.Form):
    """Labels without a trailing colon, as the rest of the site."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(Form):
    email = forms.EmailField(
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
        error_messages={"required": "Enter your email address.", "invalid": "Enter a valid email address."},
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password."},
    )


class CodeForm(Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=20,
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                                      "spellcheck": "false", "autocapitalize": "off"}),
        error_messages={"required": "Enter the code from your authenticator app."},
    )

    def clean_code(self) -> str:
        code = "".join(ch for ch in self.cleaned_data["code"] if ch.isalnum())
        if not (len(code) == 6 and code.isdigit()) and len(code) != 8:
            raise forms.ValidationError("Codes are 6 digits from your app, or an 8-character backup code.")
        return code


class EnrolForm(CodeForm):
    code = forms.CharField(
        label="Code from your app",
        max_length=10,
        help_text="After adding Auror to your app, type the 6-digit code it shows.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "spellcheck": "false", "autocapitalize": "off"}),
        error_messages={"required": "Enter the 6-digit code your app shows."},
    )

    def clean_code(self) -> str:
        code = "".join(ch for ch in self.cleaned_data["code"] if ch.isalnum())
        if not (len(code) == 6 and code.isdigit()):
            raise forms.ValidationError("Enter the 6-digit code your app shows.")
        return code


class SSOStartForm(Form):
    organisation = forms.CharField(
        label="Organisation code or work email",
        max_length=254,
        help_text="For example acme, or you@acme.co.nz.",
        widget=forms.TextInput(attrs={"autocomplete": "organization", "autofocus": True,
                                      "autocapitalize": "off", "spellcheck": "false"}),
        error_messages={"required": "Enter your organisation's code or your work email address."},
    )


class TokenCreateForm(Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What will use it, e.g. “reporting script”.",
        error_messages={"required": "Give the token a name so you can recognise it later."},
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name so you can recognise it later.")
        return name
