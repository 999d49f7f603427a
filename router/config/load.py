"""Reading router.yaml: YAML parsed, `${env.…}` expanded in its string values, the document
validated against `RouterYaml` and resolved into a `Config`; every problem one `ConfigError`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from router.config.errors import ConfigError, describe
from router.config.model import RouterYaml
from router.config.resolve import resolve
from router.config.settings import Config
from router.env import expand_values

__all__ = ["load_config", "parse_config", "read_model"]


def load_config(path: str | Path | None, environ: Mapping[str, str] = os.environ) -> Config:
    """The router's settings from the file at `path` (None: every default)."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_config(text, base=path.parent, environ=environ)


def parse_config(
    text: str, *, base: Path = Path("."), environ: Mapping[str, str] = os.environ
) -> Config:
    """The router's settings from router.yaml's `text`; file names in it are relative to
    `base`."""
    return resolve(read_model(text, environ), base)


def read_model(text: str, environ: Mapping[str, str] = os.environ) -> RouterYaml:
    """router.yaml's `text` as its validated model."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        hint = " (quote a ${env.…} value inside { }: '${env.NAME}')" if "${" in text else ""
        raise ConfigError(f"router config is not valid YAML{hint}: {exc}") from None
    try:
        return RouterYaml.model_validate(expand_values(raw, environ, ConfigError))
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
