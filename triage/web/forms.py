"""Forms of the agent pages. Validation of tickets lives in ``ticket_submit``; these only parse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from triage.models import LLMModel, Router, Ticket
from triage.models.tickets import MAX_BODY, MAX_SUBJECT
from triage.pipeline.subtasks import subtask_names


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError inline: on its field when the form has one, else on top."""
    if hasattr(exc, "error_dict"):
        for name, messages in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)


class TicketForm(forms.Form):
    subject = forms.CharField(max_length=MAX_SUBJECT, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False, max_length=MAX_BODY)
    customer_tier = forms.ChoiceField(choices=Ticket.Tier.choices, initial=Ticket.Tier.FREE)
    account_id = forms.CharField(max_length=64, required=False, label="Account")
    router = forms.ModelChoiceField(
        queryset=Router.objects.filter(enabled=True).order_by("name"),
        required=False,
        empty_label="Default router",
    )

    # subject/body "required" is checked by the service (the same rule and message as the API)


class CorrectionForm(forms.Form):
    field = forms.ChoiceField(choices=[("category", "category"), ("urgency", "urgency")])
    value = forms.CharField(max_length=40)


class ThumbForm(forms.Form):
    step = forms.IntegerField()
    vote = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])


class ReplyForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000)


class RerunForm(forms.Form):
    step = forms.ChoiceField(
        choices=lambda: [("", "all steps"), *[(s, s) for s in subtask_names()]], required=False
    )


class PlaygroundForm(forms.Form):
    router = forms.ModelChoiceField(queryset=Router.objects.filter(enabled=True).order_by("name"))
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=20_000)
    ticket = forms.IntegerField(required=False, min_value=1, label="…or ticket #")
    task = forms.CharField(
        required=False, max_length=100, help_text="Empty: the router classifies the request."
    )
    models = forms.ModelMultipleChoiceField(
        queryset=LLMModel.objects.select_related("provider").order_by("slug"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Up to three catalog models to compare with the router.",
    )

    def clean_models(self) -> Any:
        models = self.cleaned_data["models"]
        if len(models) > 3:
            raise ValidationError("Pick at most three models.")
        return models

    def clean_ticket(self) -> Ticket | None:
        ticket_id = self.cleaned_data.get("ticket")
        if not ticket_id:
            return None
        ticket = Ticket.objects.filter(pk=ticket_id).first()
        if ticket is None:
            raise ValidationError(f"There is no ticket #{ticket_id}.")
        return ticket

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("prompt") or "").strip() and not data.get("ticket") and not self.errors:
            raise ValidationError("Write a prompt or give a ticket number.")
        return data
