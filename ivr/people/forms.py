"""The forms of the pages; each carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

_SUBMIT_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class PostedForm(FlaskForm):  # type: ignore[misc]
    """A form read from the posted form fields only.

    Flask-WTF would take a JSON body for the form when no fields are posted, and then a field may hold a
    number, a list or an object where every view expects text.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args and "formdata" not in kwargs and request.method in _SUBMIT_METHODS:
            kwargs["formdata"] = request.form
        super().__init__(*args, **kwargs)


class LoginForm(PostedForm):
    """Username and password."""

    username = StringField("用户名 / Username", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("密码 / Password", validators=[DataRequired(), Length(max=200)])


class StateForm(PostedForm):
    """An agent's own state change: the button pressed gives the state; a break needs a reason."""

    state = StringField()
    reason = StringField("原因 / Reason")
