"""Give each page every script once.

``sphinx-thebe`` (loaded by Jupyter Book whether or not Thebe is used) declares its
settings in an inline script, ``const THEBE_JS_URL = ...``, from an event that Jupyter
Book's build fires more than once, so every page carried the declaration twice and the
browser logged ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``.
Dropping repeated scripts (same file, same inline body) when a page is written removes
the error and changes nothing else.
"""

from __future__ import annotations


def _key(script) -> tuple[str, str]:
    attributes = getattr(script, "attributes", {}) or {}
    return (str(getattr(script, "filename", script) or ""), str(attributes.get("body", "")))


def _drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    # After the theme's own handlers, which add their scripts at the default priority.
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
