"""The site's forms through the app on a real SQLite file: errors beside the field they are
about, and the manage page's form before its (folded) preview."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from digest.service import Service
from digest.store import subscribers
from tests.unit.test_web import manage_form
from tests.unit.web_support import client, confirmed, row_of, service, subscribe

__all__ = ["client", "service"]


def error_beside(html: str, control_id: str) -> str:
    """The field error that follows the control ``control_id`` (which must point at it)."""
    control = re.search(rf'<(?:input|textarea|select)[^>]*id="{control_id}"[^>]*>', html)
    assert control, f"no control {control_id}"
    described = re.search(r'aria-describedby="([^"]+)"', control[0])
    assert 'aria-invalid="true"' in control[0] and described
    error_id = described[1].split()[0]
    end = (
        html.index("</select>", control.end())
        if control[0].startswith("<select")
        else control.end()
    )
    after = html[end:]
    error = re.search(rf'<p class="field-error" id="{error_id}">(.*?)</p>', after, re.S)
    assert error and error.start() < 800, f"no error next to {control_id}"
    return re.sub(r"<[^>]+>", "", error[1]).lower()


def test_a_bad_address_is_named_beside_the_email_field(client: TestClient) -> None:
    response = subscribe(client, "not an address")
    assert response.status_code == 400
    assert "does not look like an email address" in error_beside(response.text, "subscribe-email")
    assert 'id="subscribe-topics"' in response.text
    assert 'href="#subscribe-email"' in response.text  # the summary links to the field


def test_too_many_topics_is_named_beside_the_topics_field(client: TestClient) -> None:
    topics = "\n".join(f"topic {n}" for n in range(40))
    response = subscribe(client, "ada@example.org", topics=topics)
    assert response.status_code == 400
    assert "at most 30 entries" in error_beside(response.text, "subscribe-topics")
    assert not re.search(r'id="subscribe-email"[^>]*aria-invalid', response.text)


def test_a_bad_manage_field_is_marked_and_explained_in_place(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    form = manage_form(client.get(manage).text)
    response = client.post(manage, data={**form, "per_digest": "500"})
    assert response.status_code == 400
    assert "from 1 to 50" in error_beside(response.text, "per_digest")
    assert 'href="#per_digest"' in response.text
    assert len(re.findall(r"aria-invalid", response.text)) == 1


def test_a_bad_time_zone_keeps_what_was_typed(service: Service, client: TestClient) -> None:
    manage = confirmed(service, client)
    form = manage_form(client.get(manage).text)
    response = client.post(manage, data={**form, "timezone": "Mars/Olympus", "topics": "x"})
    assert "unknown time zone" in error_beside(response.text, "timezone")
    assert 'value="Mars/Olympus"' in response.text


def test_the_manage_form_comes_before_a_folded_preview(
    service: Service, client: TestClient
) -> None:
    html = client.get(confirmed(service, client)).text
    form_at, preview_at = html.index('class="card manage-form"'), html.index('class="card preview"')
    assert form_at < preview_at
    details = re.search(r'<section class="card preview"[^>]*>\s*<details([^>]*)>', html)
    assert details and "open" not in details[1]
    saved = client.get(confirmed(service, client) + "?saved=1").text
    assert re.search(r'<section class="card preview"[^>]*>\s*<details open>', saved)


def test_sign_up_stores_the_time_zone_the_form_sent(service: Service, client: TestClient) -> None:
    assert subscribe(client, "ada@example.org", timezone="Asia/Tokyo").status_code == 200
    assert row_of(service, "ada@example.org").timezone == "Asia/Tokyo"


def test_sign_up_without_a_time_zone_stays_on_utc(service: Service, client: TestClient) -> None:
    subscribe(client, "ada@example.org")
    assert row_of(service, "ada@example.org").timezone == "UTC"


def test_an_unknown_time_zone_is_named_beside_its_select(
    service: Service, client: TestClient
) -> None:
    response = subscribe(client, "ada@example.org", timezone="Mars/Olympus")
    assert response.status_code == 400
    assert "unknown time zone" in error_beside(response.text, "subscribe-timezone")
    with service.db.session() as session:
        assert subscribers.find_row(session, "ada@example.org") is None


def test_the_sign_up_select_lists_zones_and_the_script_is_served(client: TestClient) -> None:
    html = client.get("/subscribe").text
    select = re.search(r'<select id="subscribe-timezone"[^>]*>(.*?)</select>', html, re.S)
    assert select and "<option selected>UTC</option>" in select[1]
    assert "<option>Europe/Berlin</option>" in select[1]
    script = client.get("/static/timezone.js")
    assert script.status_code == 200 and "resolvedOptions().timeZone" in script.text


def test_the_manage_page_sets_what_the_cli_sets(service: Service, client: TestClient) -> None:
    """Minimum score, quiet days and left-out categories: saved, then shown again as saved."""
    manage = confirmed(service, client)
    form = manage_form(client.get(manage).text)
    assert (form["min_score"], form["quiet_days"], form["exclude_categories"]) == ("0", "skip", "")
    form.update(min_score="0.35", quiet_days="send", exclude_categories="cs.CV\nq-bio.NC")
    assert client.post(manage, data=form, follow_redirects=False).status_code == 303
    with service.db.session() as session:
        profile = subscribers.to_subscriber(subscribers.get_row(session, "ada@example.org")).profile
    assert (profile.min_score, profile.quiet_days) == (0.35, "send")
    assert profile.exclude_categories == ("cs.CV", "q-bio.NC")
    again = manage_form(client.get(manage).text)
    assert (again["min_score"], again["quiet_days"]) == ("0.35", "send")
    assert again["exclude_categories"] == "cs.CV\nq-bio.NC"


def test_a_category_arxiv_does_not_have_is_named_beside_its_field(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    form = manage_form(client.get(manage).text)
    response = client.post(manage, data={**form, "exclude_categories": "computer vision!"})
    assert response.status_code == 400
    assert "not an arxiv category" in error_beside(response.text, "exclude_categories")
    response = client.post(manage, data={**form, "min_score": "2"})
    assert "from 0 to 1" in error_beside(response.text, "min_score")
    assert row_of(service, "ada@example.org").profile.get("min_score", 0) == 0
