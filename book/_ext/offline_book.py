"""Sphinx tweaks for a book that renders offline without a console error (`make check-book`).

- sphinx-thebe adds its inline configuration script twice under Jupyter Book 1 (a duplicate
  `const THEBE_JS_URL` is a SyntaxError on every page): keep each script once.
- pydata-sphinx-theme reads the colour mode from a template variable that Jupyter Book leaves
  empty (an "invalid theme mode" console error on a first visit): default it to "auto".
"""


def tidy_page(app, pagename, templatename, context, doctree):
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", script) or ""      # None and "" both mean inline
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts
    context.setdefault("default_mode", "auto")


def setup(app):
    app.connect("html-page-context", tidy_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
