"""The join page's form (join.html): the same template the subscription service renders
(site_templates/forms/join.html), filled from the records. Plain HTML, autoescaped here,
never through the Markdown escaping of the page templates; it works without JavaScript and
posts to the service at ``subscriptions_url`` (content/alliance.yml). Without that field the
page tells readers how to join by email (or at ``signup_url``) instead: a form posting to a
service that does not exist would lose their sign-up.

The form holds no CSRF token (a static page cannot): the service accepts it only from the
website's or its own Origin, and answers anything else with its own copy of the form.
"""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from records.schema import STRANDS
from records.tree import Records

FORMS = Path(__file__).resolve().parent.parent / "site_templates" / "forms"


def join_form(records: Records) -> Markup | None:
    alliance = records.alliance
    if alliance is None or not alliance.subscriptions_url:
        return None
    env = Environment(loader=FileSystemLoader(str(FORMS)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    wording, version = alliance.consent
    html = env.get_template("join.html").render(
        action=alliance.service_url + "join", roles=records.vocabulary.roles,
        phases=records.vocabulary.phases, strands=STRANDS, wording=wording, version=version, csrf="",
        values={}, error="", contact_email=alliance.contact.email)
    # one raw HTML block for Markdown: no blank line may split it
    return Markup("\n".join(line for line in html.splitlines() if line.strip()))
