"""The forms of the pages; each carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Username and password."""

    username = StringField("用户名 / Username", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("密码 / Password", validators=[DataRequired(), Length(max=200)])


class StateForm(FlaskForm):  # type: ignore[misc]
    """An agent's own state change: the button pressed gives the state; a break needs a reason."""

    state = StringField()
    reason = StringField("原因 / Reason")
