"""Checks on customer input; each failure is a BadUserInput naming the offending field."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from subgraph_kit.errors import BadUserInput

MAX_NAME_LENGTH = 200


def clean_name(name: str, *, field: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise BadUserInput("name must not be empty", field=field)
    if len(cleaned) > MAX_NAME_LENGTH:
        raise BadUserInput(f"name must be at most {MAX_NAME_LENGTH} characters", field=field)
    return cleaned


def clean_email(email: str, *, field: str) -> str:
    """The address in normal form (domain lower-cased, Unicode normalised)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise BadUserInput(f"{email!r} is not a valid email address: {exc}", field=field) from None
