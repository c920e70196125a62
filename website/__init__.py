"""The public website: records → Markdown pages → MkDocs with mkdocs-material.

    pages.py     which pages exist and where (one function per page kind)
    render.py    jinja2 over site_templates/site/: record text escaped for Markdown
    config.py    the generated mkdocs.yml (theme from the top-level mkdocs.yml)
    engine.py    the MkDocs build (only engine.py and serve.py import MkDocs, lazily)
    publish.py   build aside, then swap into place
    pipeline.py  the stages end to end, timed
    serve.py     preview with live reload
    calendar.py  iCalendar feeds; prospectus.py  the printable PDF (both into every build:
                 pipeline.generate writes the feeds, pipeline.build adds the real PDF)

Theme overrides (../overrides/): main.html adds Open Graph tags, partials/ a named search
dialog and the footer's link to the accessibility statement, assets/ the CSS and the one
script that fix what the browser tests (tests/test_browser.py) found in stock Material.

Nothing here imports the mailer; both import records.
"""
