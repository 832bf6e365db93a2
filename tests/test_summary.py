"""Excerpts as readers see them, body-less posts, and the store's one summary per post."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import feedparser
import pytest

from blogapp import content
from blogapp.posts import store as content_store
from blogapp.posts.post import extract_body
from blogapp.posts.post import parse_post
from blogapp.text.summary import clean_excerpt
from blogapp.text.summary import excerpt_problems
from blogapp.text.summary import summarize
from tests.conftest import post_text

TITLE = "Concerns Rise Over AI Bias in Loan Application Algorithms"
BODY = (
    "The promise of AI is immense, automating tasks, optimizing processes and finding patterns.\n\n"
    "## Where it goes wrong\n\nLenders train models on old decisions."
)
#: What a blog-starter generator writes: the title again, then the body cut at a character count.
GENERATED = f"{TITLE}  The promise of AI is immense, automating tasks, optimizing proc"


def parsed(text: str):
    post = parse_post(text, "x.md", slug="x", timezone=dt.UTC, default_author="A")
    return post, extract_body(text, post.title)


# --- clean_excerpt ----------------------------------------------------------------------------


def test_a_generated_excerpt_loses_the_title_and_the_broken_word():
    post, body = parsed(post_text(TITLE, excerpt=f'"{GENERATED}"', body=BODY))
    assert summarize(post, body).excerpt == "The promise of AI is immense, automating tasks, optimizing…"


@pytest.mark.parametrize(
    ("excerpt", "expected"),
    [
        # A whole sentence, or words that stop where the body's words stop: as written.
        ("The promise of AI is immense.", "The promise of AI is immense."),
        ("The promise of AI is immense, automating tasks", "The promise of AI is immense, automating tasks"),
        # Not the body's text: nothing says a word was cut, so nothing is dropped.
        (
            "A summary written by hand, ending without a full stop",
            "A summary written by hand, ending without a full stop",
        ),
        # The title alone is the excerpt: kept (an empty excerpt would say less).
        (TITLE, TITLE),
        # The title repeated, case and spacing aside, then a separator.
        (f"{TITLE.upper()} — The promise of AI is immense.", "The promise of AI is immense."),
        # One broken word and nothing before it: kept rather than emptied.
        ("The", "The"),
    ],
)
def test_clean_excerpt_cases(excerpt, expected):
    body_text = "The promise of AI is immense, automating tasks, optimizing processes. Theory."
    assert clean_excerpt(excerpt, TITLE, body_text) == expected


def test_a_title_that_merely_starts_like_the_excerpt_is_not_dropped():
    assert clean_excerpt("Concerns about the weather", "Concerns", "") == "Concerns about the weather"
    assert clean_excerpt("Concerns Rise Over nothing", TITLE, "") == "Concerns Rise Over nothing"


def test_body_excerpts_end_on_a_whole_word():
    words = " ".join(f"word{i}" for i in range(100))
    post, body = parsed(post_text("T", body=words))
    excerpt = summarize(post, body).excerpt
    assert excerpt.endswith("…") and words.startswith(excerpt[:-1])
    assert words[len(excerpt) - 1] == " "


def test_excerpt_problems_name_what_was_mended():
    post, body = parsed(post_text(TITLE, excerpt=f'"{GENERATED}"', body=BODY))
    problems = excerpt_problems(post, body)
    assert problems[0] == "excerpt starts by repeating the title"
    assert "cut mid-word ('proc')" in problems[1]
    clean, clean_body = parsed(post_text(TITLE, excerpt='"The promise of AI is immense."', body=BODY))
    assert excerpt_problems(clean, clean_body) == []


def test_a_huge_repetitive_excerpt_is_cleaned_in_linear_time():
    title = "Word " * 2000
    text = "Word " * 200_000 + "Wor"
    assert clean_excerpt(text, title, text + "d") == " ".join(["Word"] * 198_000) + "…"


# --- through the site -------------------------------------------------------------------------


def meta_description(html: str) -> str:
    return unescape(re.search(r'<meta name="description" content="([^"]*)"', html)[1])


def test_cards_meta_and_feeds_show_the_clean_excerpt(client, write_post):
    write_post("loans.md", post_text(TITLE, date="2026-06-02T00:00:00Z", excerpt=f'"{GENERATED}"', body=BODY))
    clean = "The promise of AI is immense, automating tasks, optimizing…"
    home = client.get("/").get_data(as_text=True)
    assert clean in unescape(home) and "optimizing proc<" not in home
    page = client.get("/posts/loans").get_data(as_text=True)
    assert meta_description(page) == clean
    feed = feedparser.parse(client.get("/feed.xml").data)
    entry = next(e for e in feed.entries if e.title == TITLE)
    assert entry.summary == clean
    latest = client.get("/api/latest-posts").get_json()
    assert latest[0]["excerpt"] == clean


def test_a_post_without_body_is_listed_served_and_in_feeds(client, write_post, runner):
    write_post("link-post.md", post_text("Just a link", date="2026-06-02T00:00:00Z", excerpt='"Read this."', body=""))
    write_post("bare.md", post_text("Bare announcement", date="2026-06-01T00:00:00Z", body=""))
    home = client.get("/").get_data(as_text=True)
    assert "Just a link" in home and "Bare announcement" in home
    page = client.get("/posts/link-post")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Just a link" in html and meta_description(html) == "Read this."
    assert "min read" not in html  # no words, no reading time
    bare = client.get("/posts/bare")
    assert bare.status_code == 200 and "Bare announcement" in bare.get_data(as_text=True)
    feed = feedparser.parse(client.get("/feed.xml").data)
    titles = [e.title for e in feed.entries]
    assert "Just a link" in titles and "Bare announcement" in titles
    result = runner.invoke(args=["check", "--strict"])
    assert "link-post.md: warning: no body" in result.stdout
    assert "bare.md: warning: no body" in result.stdout


def test_an_empty_file_is_still_no_post(client, write_post, app):
    write_post("empty-one.md", "")
    write_post("blank-one.md", "  \n\n")
    with app.test_request_context():
        broken = {e.path.rsplit("/", 1)[-1] for e in content.invalid_posts()}
    assert {"empty-one.md", "blank-one.md"} <= broken
    assert client.get("/posts/empty-one").status_code == 404


def test_a_body_that_only_repeats_the_title_makes_a_body_less_post(client, write_post):
    write_post("only-h1.md", post_text("Only A Heading", body="# Only A Heading"))
    assert client.get("/posts/only-h1").status_code == 200


# --- the store reads each body once for its summary -------------------------------------------


def test_the_summary_is_read_once_per_post_and_again_after_an_edit(app, write_post, monkeypatch):
    reads = []
    real = content_store.read_body

    def counting(path, title, limit):
        reads.append(path.rsplit("/", 1)[-1])
        return real(path, title, limit)

    monkeypatch.setattr(content_store, "read_body", counting)
    path = write_post("counted.md", post_text("Counted", body="First words here."))
    with app.test_request_context():
        post = content.get_post("counted")
        assert content.summary(post).excerpt == "First words here."
        assert content.summary(content.get_post("counted")).words == 3
    assert reads.count("counted.md") == 1
    path.write_text(post_text("Counted", body="Other words now, four."), encoding="utf-8")
    import os

    os.utime(path, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    app.config["BLOG_RELOAD_INTERVAL"] = 0
    content.get_store(app).interval = 0
    with app.test_request_context():
        assert content.summary(content.get_post("counted")).excerpt == "Other words now, four."
    assert reads.count("counted.md") == 2
