"""Serve MathJax from the built site itself, never from a CDN.

Sphinx's default ``mathjax_path`` points at a CDN, so an offline reader (or an archive of
the site) would see raw LaTeX. This extension copies the MathJax 2.7 files shipped by the
``jupyter-server-mathjax`` package (a pip dependency of the ``book`` extra) into the
built site's ``_static/mathjax``; ``_config.yml`` points ``mathjax_path`` there. That
package ships only MathJax's STIX-Web fonts, so ``_config.yml`` selects them
(``mathjax2_config``), and ``book/_static/math.css`` undoes the theme's flex layout of
inline math, which MathJax 2 does not expect.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = Path(app.outdir) / "_static" / "mathjax"
    shutil.copytree(source, target, dirs_exist_ok=True)


def setup(app):
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
