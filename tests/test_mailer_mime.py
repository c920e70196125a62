"""mailer.mime: pieces encoded once + readers' values encoded alone = the substituted text, exactly."""
from __future__ import annotations

import email
import email.policy
import quopri
import random

import pytest

from mailer.mime import MimeTemplate, _Body, substitute
from mailer.providers.base import Recipient, Sender, Variant

ALPHABET = "abc XYZ=\t.-é€👋<>&%\n\r\n" + "x" * 20


def random_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(n))


@pytest.mark.parametrize("seed", range(200))
def test_pieces_decode_to_the_substituted_text(seed):
    rng = random.Random(seed)
    names = ["first_name", "unsubscribe_url", "message_id"]
    template = "".join(random_text(rng, rng.randrange(0, 200)) + f"%%{rng.choice(names)}%%"
                       for _ in range(rng.randrange(0, 5))) + random_text(rng, rng.randrange(0, 300))
    values = {n: random_text(rng, rng.randrange(0, 150)).replace("\r", "").replace("\n", " ")
              for n in names}
    encoded = _Body(template).render(values)
    assert encoded.isascii()
    for line in encoded.split("\r\n"):
        assert len(line) <= 76 and "\n" not in line and "\r" not in line
    expected = substitute(template, values).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    assert quopri.decodestring(encoded.encode()).decode("utf-8") == expected


def test_a_whole_message_parses_with_the_email_package():
    variant = Variant(key="k", subject="Café & more", html="<p>Hello %%first_name_html%%, é</p>\n" * 50,
                      text="Hello %%first_name%%,\nbye %%unsubscribe_url%%\n",
                      headers={"List-Unsubscribe": "<%%unsubscribe_url%%>"})
    recipient = Recipient("a@x.example", {"first_name": "Zoë", "first_name_html": "Zo&euml;",
                                          "unsubscribe_url": "https://x.example/u?t=" + "A" * 90,
                                          "unsubscribe_mailto": "mailto:o@x.example", "message_id": "1@x"},
                          name="Zoë Ångström")
    data = MimeTemplate(variant, Sender("o@x.example", "Org")).render(recipient)
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == "Café & more"
    assert message["To"].addresses[0].display_name == "Zoë Ångström"
    assert message["List-Unsubscribe"] == "<https://x.example/u?t=" + "A" * 90 + ">"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == "Hello Zoë,\nbye https://x.example/u?t=" + "A" * 90 + "\n"
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert html == "<p>Hello Zo&euml;, é</p>\n" * 50
