"""Where each page lives, relative to the generated docs folder, so links and files never
disagree."""
from __future__ import annotations

from markupsafe import Markup

from records import urls

from . import calendar as feeds


class Paths:
    """Where each page lives, relative to the docs folder. Returns Markup: ids are
    [a-z0-9-] by validation, so a path is safe as a Markdown link target as it is."""

    home = Markup("index.md")
    catalogue = Markup("courses/index.md")
    all_courses = Markup("strands/all.md")     # "all" is never a strand, so never a clash
    archive = Markup("archive/index.md")
    sles = Markup("sles/index.md")
    schools = Markup("schools.md")
    board = Markup("board.md")
    news = Markup("news/index.md")
    newsletters = Markup("newsletters/index.md")
    accessibility = Markup("accessibility.md")
    prospectus = Markup("prospectus.pdf")
    all_feed = Markup(feeds.ALL_FEED)

    @staticmethod
    def strand_feed(strand: str) -> Markup:
        return Markup(feeds.strand_feed_path(strand))

    @staticmethod
    def course_feed(course_id: str) -> Markup:
        return Markup(feeds.course_feed_path(course_id))

    @staticmethod
    def course(course_id: str) -> Markup:
        return Markup(f"courses/{course_id}.md")

    @staticmethod
    def strand(strand: str) -> Markup:
        return Markup(f"strands/{strand}.md")

    @staticmethod
    def archive_strand(strand: str) -> Markup:
        return Markup(f"archive/{strand}.md")

    @staticmethod
    def sle(sle_id: str) -> Markup:
        return Markup(f"sles/{sle_id}.md")

    @staticmethod
    def specialism(word: str) -> Markup:
        return Markup(f"sles/specialism/{word}.md")

    @staticmethod
    def phase(word: str) -> Markup:
        return Markup(f"sles/phase/{word}.md")

    @staticmethod
    def story(news_id: str) -> Markup:
        return Markup(f"news/{news_id}.md")

    @staticmethod
    def edition(edition_id: str) -> Markup:
        return Markup(f"newsletters/{edition_id}.md")

    @staticmethod
    def media(photo: str) -> Markup:
        return Markup(f"media/{photo}")

    @staticmethod
    def free_page(page_id: str) -> Markup:
        return Markup(urls.free_page_path(page_id))

    @staticmethod
    def html(docs_path: str) -> Markup:
        """The published address of a page (``courses/x.md`` -> ``courses/x.html``), for
        links in raw HTML, which MkDocs does not rewrite."""
        return Markup(urls.page_url(str(docs_path)))

    join = Markup("join.md")            # the mailing-list sign-up form (website/join.py)
    impact = Markup("impact.md")        # "Our impact" (records/impact.py)
    courses_json = Markup("courses.json")
    courses_schema = Markup("courses.schema.json")
