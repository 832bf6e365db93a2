"""The response cache: hits skip rendering, content changes and hosts/prefixes change the key."""

from __future__ import annotations

import pytest

from blogapp import create_app
from tests.conftest import count_renders
from tests.conftest import post_text


@pytest.mark.parametrize("url", ["/", "/posts/hello-world", "/tags", "/tags/python"])
def test_second_request_is_served_from_cache(app, client, url):
    with count_renders(app) as rendered:
        first = client.get(url)
        second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert first.data == second.data
    assert len(rendered) == 1


def test_editing_a_post_changes_the_page_without_restart(app, client, write_post):
    write_post("edit-me.md", post_text("Edit Me", body="First version."))
    assert b"First version." in client.get("/posts/edit-me").data
    write_post("edit-me.md", post_text("Edit Me", body="Second version."))
    with count_renders(app) as rendered:
        body = client.get("/posts/edit-me").data
    assert b"Second version." in body
    assert rendered == ["pages/post.html"]


def test_adding_and_deleting_posts_show_on_the_home_page(client, write_post, posts_dir):
    client.get("/")
    path = write_post("brand-new.md", post_text("Brand New Post", date="2026-01-01T00:00:00Z"))
    assert b"Brand New Post" in client.get("/").data
    path.unlink()
    assert b"Brand New Post" not in client.get("/").data


def test_a_page_is_kept_only_under_the_version_it_was_rendered_from(app, client, write_post, posts_dir):
    """The key's content version is read before the render; a change that lands in between
    (here, a post written just before the view runs) must not be kept under the old version:
    versions hash the files, so when the posts are as they were (the post deleted again) that
    version comes back, and the deleted post with it, from memory and from Redis. The view is
    rendered from the posts of its key (content.VIEW_KEY), so the request that raced the
    change answers as before it; the next one shows it."""
    text = post_text("Comes And Goes", body="Here now.")
    arrive = []

    @app.before_request
    def land_a_change() -> None:
        if arrive:
            write_post(arrive.pop(), text)

    assert client.get("/posts/comes-and-goes").status_code == 404
    arrive.append("comes-and-goes.md")
    assert client.get("/posts/comes-and-goes").status_code == 404  # rendered from its key's posts
    assert client.get("/posts/comes-and-goes").status_code == 200  # the new version
    (posts_dir / "comes-and-goes.md").unlink()
    assert client.get("/posts/comes-and-goes").status_code == 404


def test_404_is_not_cached(client, write_post):
    assert client.get("/posts/later").status_code == 404
    write_post("later.md", post_text("Later"))
    assert client.get("/posts/later").status_code == 200


def test_errors_are_rendered_every_time(app, client):
    with count_renders(app) as rendered:
        client.get("/nope")
        client.get("/nope")
    assert rendered == ["errors/404.html", "errors/404.html"]


def test_prefix_and_host_get_their_own_entries(app, client):
    with count_renders(app) as rendered:
        plain = client.get("/posts/hello-world").data
        mounted = client.get("/posts/hello-world", base_url="http://localhost/blog/").data
        other_host = client.get("/posts/hello-world", base_url="http://other.example/").data
        https = client.get("/posts/hello-world", base_url="https://localhost/").data
    assert len(rendered) == 4
    assert b'href="/blog/posts/' in mounted and b'href="/blog/posts/' not in plain
    assert b"other.example" in other_host and b"other.example" not in plain
    assert b"https://localhost/" in https and b"https://localhost/" not in plain


def test_with_site_url_the_host_does_not_split_the_cache(config):
    app = create_app({**config, "BLOG_SITE_URL": "https://blog.example.com"})
    client = app.test_client()
    with count_renders(app) as rendered:
        a = client.get("/posts/hello-world", base_url="http://one.example/").data
        b = client.get("/posts/hello-world", base_url="http://two.example/").data
    assert a == b
    assert len(rendered) == 1


@pytest.mark.filterwarnings("ignore:Flask-Caching. CACHE_TYPE is set to null")
def test_null_cache_still_serves(config):
    client = create_app({**config, "CACHE_TYPE": "NullCache"}).test_client()
    assert client.get("/").status_code == 200
