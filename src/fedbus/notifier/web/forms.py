"""The web UI's forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm as _FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from fedbus.notifier.models import DESTINATION_KINDS, RULE_KINDS, SEVERITIES


class FlaskForm(_FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    """Base of the forms below."""


SEVERITY_CHOICES = [("", "any"), *[(k, k) for k in SEVERITIES]]
RULE_KIND_LABELS = {
    "topic": "Topic glob",
    "service": "Service / category",
    "package": "Package",
    "owned_packages": "Packages I own or watch",
    "user": "User I follow",
    "my_events": "My own events",
}


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired()])


class RuleForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=100)])
    kind = SelectField("Track", choices=[(k, RULE_KIND_LABELS.get(k, k)) for k in RULE_KINDS])
    value = StringField("Value", validators=[Optional(), Length(max=255)])
    min_severity = SelectField("Minimum severity", choices=SEVERITY_CHOICES, default="")
    exclude_mine = BooleanField("Exclude my own actions")
    exclude_topics = TextAreaField(
        "Excluded topic globs (one per line)", validators=[Optional(), Length(max=4000)]
    )
    exclude_services = StringField(
        "Excluded services (comma-separated)", validators=[Optional(), Length(max=1000)]
    )
    destinations = SelectMultipleField(
        "Send to (none ticked: all my verified destinations)",
        coerce=int,
        choices=[],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=True,
    )
    enabled = BooleanField("Enabled", default=True)


class DestinationForm(FlaskForm):
    kind = SelectField("Type", choices=[(k, k) for k in DESTINATION_KINDS])
    address = StringField(
        "Address (email address or IRC nick)", validators=[DataRequired(), Length(max=254)]
    )


class PauseForm(FlaskForm):
    paused = BooleanField("Pause all notifications")
    mute_hours = IntegerField(
        "Mute for hours (0: not muted)",
        default=0,
        validators=[Optional(), NumberRange(min=0, max=24 * 365)],
    )


class AccountForm(FlaskForm):
    username = StringField(
        "User name",
        validators=[
            DataRequired(),
            Regexp(r"^[a-z_][a-z0-9_.-]{0,63}$", message="a lowercase account name"),
        ],
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=200)])


class EmptyForm(FlaskForm):
    """Delete buttons and the like: the CSRF token only."""
