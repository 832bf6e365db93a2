"""WebSub discovery (issue 24): BLOG_WEBSUB_HUBS puts hub and self links into every feed, in
the body of each format and in the HTTP Link header; without it the feeds are as before."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from lxml import etree

from blogapp import create_app
from blogapp.config import ConfigError

ATOM = "{http://www.w3.org/2005/Atom}"
HUBS = ["https://hub.example.net/", "http://127.0.0.1:9/hub?x=1"]
SITE = "https://blog.example.com/blog"
FEEDS = [
    f"{scope}/{name}"
    for scope in ("", "/tags/python", "/authors/ada-lovelace")
    for name in ("feed.xml", "atom.xml", "feed.json")
]


@pytest.fixture
def hub_app(config: dict) -> Flask:
    config.update(BLOG_WEBSUB_HUBS=HUBS, BLOG_SITE_URL=SITE, SCRIPT_NAME="/blog")
    return create_app(config)


def links_in_body(path: str, body: bytes) -> tuple[list[str], list[str]]:
    """(hub URLs, self URLs) the feed's body names."""
    if path.endswith(".json"):
        feed = json.loads(body)
        assert all(hub["type"] == "WebSub" for hub in feed.get("hubs", []))
        return [hub["url"] for hub in feed.get("hubs", [])], [feed["feed_url"]]
    root = etree.fromstring(body)
    links = root.iter(f"{ATOM}link")
    found = [(link.get("rel"), link.get("href")) for link in links if link.getparent() is not None]
    # Only the feed's own links, not an entry's: RSS's channel, Atom's feed element.
    parent = root.find("channel") if root.tag == "rss" else root
    own = [(link.get("rel"), link.get("href")) for link in parent.findall(f"{ATOM}link")]
    assert set(own) <= set(found)
    return [h for rel, h in own if rel == "hub"], [h for rel, h in own if rel == "self"]


@pytest.mark.parametrize("feed", FEEDS)
def test_every_feed_names_its_hubs_and_itself(hub_app: Flask, feed: str) -> None:
    client = hub_app.test_client()
    for _ in range(2):  # rendered, then from the page cache: the same links
        response = client.get("/blog" + feed, base_url="https://blog.example.com")
        assert response.status_code == 200
        hubs, selves = links_in_body(feed, response.data)
        assert hubs == HUBS
        assert selves == [SITE + feed]
        assert response.headers["Link"] == (
            f'<{HUBS[0]}>; rel="hub", <{HUBS[1]}>; rel="hub", <{SITE}{feed}>; rel="self"'
        )


@pytest.mark.parametrize("feed", FEEDS)
def test_without_hubs_nothing_changes(client, feed: str) -> None:
    response = client.get(feed)
    assert response.status_code == 200
    assert "Link" not in response.headers
    hubs, _ = links_in_body(feed, response.data)
    assert hubs == []


@pytest.mark.parametrize(
    "hubs",
    [
        ["ftp://hub.example.net/"],
        ["javascript:alert(1)"],
        ["https://"],
        ["https://hub.example.net/a b"],
        ["https://hub.example.net/<x>"],
        ["https://hub.example.net/#frag"],
        ["https://hub.example.net/" + "a" * 2000],
        [f"https://hub{i}.example.net/" for i in range(11)],
        "not a url",
        42,
    ],
)
def test_check_config_refuses_a_bad_hub(config: dict, hubs: object) -> None:
    config.update(BLOG_WEBSUB_HUBS=hubs, BLOG_SITE_URL=SITE)
    with pytest.raises(ConfigError, match="BLOG_WEBSUB_HUBS"):
        create_app(config)


def test_hubs_need_the_site_url(config: dict) -> None:
    config.update(BLOG_WEBSUB_HUBS=HUBS)
    with pytest.raises(ConfigError, match="BLOG_SITE_URL"):
        create_app(config)


def test_hubs_from_the_environment_as_one_string(config: dict) -> None:
    config.update(BLOG_WEBSUB_HUBS="https://a.example/hub, http://b.example/", BLOG_SITE_URL=SITE)
    assert create_app(config).config["BLOG_WEBSUB_HUBS"] == ["https://a.example/hub", "http://b.example/"]
