"""The service's HTML pages (site_templates/service/, autoescaped) and the join form it shares
with the website (site_templates/forms/join.html)."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from .config import ServiceConfig

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "site_templates"
CSS = (TEMPLATES / "service" / "service.css").read_bytes()


class Pages:
    def __init__(self, config: ServiceConfig):
        self.config = config
        self.env = Environment(loader=FileSystemLoader([str(TEMPLATES / "forms"), str(TEMPLATES / "service")]),
                               autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)
        self.common = {"name": config.name, "site_url": config.site_url or config.service_url,
                       "contact_email": config.contact_email, "assets": config.url("assets/")}

    def render(self, template: str, status: int = 200, **context) -> HTMLResponse:
        html = self.env.get_template(template).render({**self.common, **context})
        return HTMLResponse(html, status_code=status)

    def message(self, title: str, *paragraphs: str, status: int = 200, back: bool = True) -> HTMLResponse:
        return self.render("message.html", status, title=title, paragraphs=paragraphs, back=back)

    def join_form(self, *, csrf: str, values: dict | None = None, error: str = "") -> Markup:
        c = self.config
        return Markup(self.env.get_template("join.html").render(
            action=c.url("join"), roles=c.roles, phases=c.phases, strands=c.strands,
            wording=c.consent_wording, version=c.consent_version, csrf=csrf, values=values or {},
            error=error, contact_email=c.contact_email))

    def join_page(self, *, csrf: str, values: dict | None = None, error: str = "",
                  status: int = 200) -> HTMLResponse:
        form = self.join_form(csrf=csrf, values=values, error=error)
        return self.render("join_page.html", status, title=f"Join the {self.config.name} mailing list", form=form)
