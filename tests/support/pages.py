"""What a user sees after a form posts: where the redirect goes and the messages on that page."""
import re
from html import unescape

_ALERT = re.compile(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', re.S)
_TAG = re.compile(r"<[^>]+>")


def flash_messages(html):
    """The text of each flashed message (FAB's alert boxes) on a rendered page."""
    return [" ".join(unescape(_TAG.sub(" ", box)).replace("×", " ").split()) for box in _ALERT.findall(html)]


def redirected(client, response, location):
    """Assert ``response`` is a redirect to ``location``; follow it with ``client`` and return
    the flashed messages the page shows."""
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.headers["Location"] == location, response.headers["Location"]
    return flash_messages(client.get(location).get_data(as_text=True))
