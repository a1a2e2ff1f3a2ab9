"""The book's Sphinx extension that gives each page every script once
(``book/_ext/single_scripts.py``)."""

import importlib.util
from pathlib import Path

from sphinx.builders.html._assets import _JavaScript

EXTENSION = Path(__file__).parents[1] / "book" / "_ext" / "single_scripts.py"


def _extension():
    spec = importlib.util.spec_from_file_location("single_scripts", EXTENSION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_repeated_inline_declaration_is_written_once_and_other_scripts_are_kept():
    declare = 'const THEBE_JS_URL = "x"'
    scripts = [
        _JavaScript("_static/a.js"),
        _JavaScript(None, body=declare),
        _JavaScript(None, body=declare),
        _JavaScript(None, body="const other = 1"),
        _JavaScript("_static/a.js"),
    ]
    context = {"script_files": scripts}
    _extension()._drop_repeated_scripts(None, "intro", "page.html", context, None)
    kept = [(s.filename, s.attributes.get("body")) for s in context["script_files"]]
    assert kept == [("_static/a.js", None), (None, declare), (None, "const other = 1")]
