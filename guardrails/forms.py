from __future__ import annotations

from django import forms

from guardrails.models import Category, Context


class LexiconEntryForm(forms.Form):
    term = forms.CharField(max_length=80, help_text="A word or phrase, as staff might type it. End a word with * to "
                                                    "match every ending (“islamo*”).")
    category = forms.ChoiceField(choices=[("", "Choose…"), *Category.choices])
    context = forms.ChoiceField(label="When is it refused?", choices=[("", "Choose…"), *Context.choices],
                                help_text="“Always” for words that only ever describe a person; the narrower choices "
                                          "for words that are also ordinary (colours, place names, party names). "
                                          "An allowed phrase lets a brand or product through.")
    note = forms.CharField(max_length=200, required=False, help_text="Why it was added, for the other admins.")


class TryForm(forms.Form):
    text = forms.CharField(label="Try a description", max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="See what the lexicon refuses, as staff would see it.")
