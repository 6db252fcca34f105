"""The web app of `autoalign serve`: the review queue with a decision form, a research browser
(runs, papers top-down, claims, flaws, provenance graphs drawn as SVG), and the calibration,
red-team and safety-case pages. Server-rendered (Jinja2, autoescaped); one small script for
keyboard shortcuts, served by the app itself.

Needs the `web` extra (`pip install -e '.[web]'`): FastAPI, Jinja2, uvicorn.
"""

from ._app import WebConfig, create_app
from ._security import TOKENS_ENV_VAR, check_bind, is_local, parse_tokens

__all__ = ["TOKENS_ENV_VAR", "WebConfig", "check_bind", "create_app", "is_local", "parse_tokens"]
