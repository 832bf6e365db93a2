"""Related posts by what posts say (blogapp/search/related.py): shared tags first, then the distinctive
words of title and body, "more like this" over the full-text index."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest

from blogapp import content
from blogapp.search import related
from tests.conftest import post_text
from tests.htmlutil import Page
from tests.servers import Server

#: Its system tests hold time bounds: the timed lane (tests/conftest.py).
pytestmark = pytest.mark.timed

# Two clear topics, no tags: a robotics tutorial series and a baking diary. Dates alternate
# between them, so a post's previous and next posts (left out of "Related") are the other topic.
ROS = [
    (
        "ROS 2 Tutorial Part 1: Installing ROS 2 and Your First Workspace",
        "Install ROS 2 Humble, source the setup script and create a colcon workspace. The ROS 2 "
        "command line tools list nodes and topics; we build an empty package with colcon.",
    ),
    (
        "ROS 2 Tutorial Part 2: Writing a Publisher Node in Python",
        "A ROS 2 node with rclpy publishes messages on a topic. The publisher sends a String message "
        "every second; colcon builds the package and ros2 run starts the node.",
    ),
    (
        "ROS 2 Tutorial Part 3: Subscribers and Callbacks",
        "A subscriber node receives the messages the publisher sends on the topic. Callbacks run in "
        "the rclpy executor; ros2 topic echo shows the same messages.",
    ),
    (
        "ROS 2 Tutorial Part 4: Services and Clients",
        "ROS 2 services answer requests: a service node adds two integers, a client node calls it. "
        "rclpy waits for the service; colcon builds both nodes in the workspace.",
    ),
    (
        "ROS 2 Tutorial Part 5: Launch Files",
        "A launch file starts several ROS 2 nodes at once: the publisher, the subscriber and the "
        "service node, with parameters, from one ros2 launch command.",
    ),
    (
        "ROS 2 Tutorial Part 6: Parameters and the Node Lifecycle",
        "Parameters configure a ROS 2 node at launch; rclpy declares them and ros2 param changes "
        "them while the node runs. Lifecycle nodes move between states.",
    ),
]
BREAD = [
    (
        "Sourdough Diaries: Feeding a Starter",
        "A sourdough starter is flour and water, fed daily. The starter doubles when it is ready; "
        "its smell turns sour and the bubbles show the yeast is active.",
    ),
    (
        "Sourdough Diaries: Hydration and the Dough",
        "Hydration is the water in the dough against the flour. A high hydration sourdough dough is "
        "sticky; stretch and folds build its gluten while the levain ferments it.",
    ),
    (
        "Sourdough Diaries: Building a Levain",
        "The levain is a portion of starter fed with fresh flour and water the night before baking. "
        "A ripe levain makes the sourdough dough rise with an open crumb.",
    ),
    (
        "Sourdough Diaries: Shaping and Proofing",
        "Shaping gives the sourdough loaf tension; the proofing basket holds the dough overnight in "
        "the fridge, where slow fermentation deepens its sour flavour.",
    ),
    (
        "Sourdough Diaries: Baking in a Dutch Oven",
        "A Dutch oven traps steam so the sourdough loaf springs before the crust sets. Score the "
        "dough, bake covered, then uncover for a dark crust and an open crumb.",
    ),
    (
        "Sourdough Diaries: Reading the Crumb",
        "The crumb of a sourdough loaf tells how the dough fermented: tight crumb means a young "
        "levain or low hydration, big holes a strong starter and good shaping.",
    ),
]
# Words both topics use, so that every post shares something with every other.
COMMON = "\n\nIn this post we walk through it step by step, and next time we will go further."


def write_topics(write_post) -> None:
    for i, ((ros_title, ros_body), (bread_title, bread_body)) in enumerate(zip(ROS, BREAD, strict=True)):
        write_post(f"ros-{i + 1}.md", post_text(ros_title, date=f"2022-03-{2 * i + 1:02d}", body=ros_body + COMMON))
        write_post(
            f"bread-{i + 1}.md", post_text(bread_title, date=f"2022-03-{2 * i + 2:02d}", body=bread_body + COMMON)
        )


def related_slugs(client, slug: str) -> list[str]:
    response = client.get(f"/posts/{slug}")
    assert response.status_code == 200
    section = Page(response.data).part(
        '<section class="related" aria-labelledby="related-posts-heading">', "</section>"
    )
    if section is None:
        return []
    assert section.texts("h2") == ["Related posts"]
    return [a["href"].rsplit("/", 1)[1] for a in section.find_all("a")]


@pytest.mark.parametrize("topic", ["ros", "bread"])
def test_posts_without_tags_relate_within_their_topic(client, write_post, topic):
    write_topics(write_post)
    for n in range(1, 7):
        found = related_slugs(client, f"{topic}-{n}")
        assert len(found) == 3, (n, found)
        assert all(slug.startswith(f"{topic}-") for slug in found), (n, found)
        assert f"{topic}-{n}" not in found


def test_the_closest_part_of_a_series_comes_first(client, write_post):
    write_topics(write_post)
    # Part 3 is about subscribers and the publisher's messages; Part 2 is the publisher.
    assert related_slugs(client, "ros-3")[0] == "ros-2"
    # The levain post names the starter, flour and water of part 1 and the crumb of the last.
    assert set(related_slugs(client, "bread-3")) & {"bread-1", "bread-6"}


def test_shared_tags_count_strongly(client, write_post):
    write_topics(write_post)
    # A baking post tagged like a robotics post beats every other robotics post.
    write_post("ros-1.md", post_text(ROS[0][0], date="2022-03-01", body=ROS[0][1] + COMMON, tags="[kitchen-robots]"))
    write_post(
        "bread-5.md", post_text(BREAD[4][0], date="2022-03-10", body=BREAD[4][1] + COMMON, tags="[kitchen-robots]")
    )
    found = related_slugs(client, "ros-1")
    assert found[0] == "bread-5"
    assert all(slug.startswith("ros-") for slug in found[1:])


def test_more_shared_tags_rank_higher_then_newer(client, write_post):
    # All older than every fixture post, so the neighbours of "subject" are ours.
    write_post("subject.md", post_text("Subject", date="2020-06-01", tags="[alpha, beta, gamma]"))
    write_post("next-door.md", post_text("Next door", date="2020-07-01", tags="[alpha, beta, gamma]"))
    write_post("prev-door.md", post_text("Prev door", date="2020-05-01"))
    write_post("two-shared.md", post_text("Two", date="2020-01-01", tags="[Alpha, beta]"))
    write_post("three-shared.md", post_text("Three", date="2019-01-01", tags="[alpha, beta, gamma, x]"))
    write_post("one-shared-new.md", post_text("One new", date="2020-03-01", tags="[alpha]"))
    write_post("one-shared-old.md", post_text("One old", date="2019-06-01", tags="[Alpha]"))
    # The post itself and its previous/next posts (linked right below) are left out.
    assert related_slugs(client, "subject") == ["three-shared", "two-shared", "one-shared-new"]


def test_unrelated_posts_never_fill_the_list(client, write_post):
    write_topics(write_post)
    write_post("loner.md", post_text("Quokkas", date="2019-01-01", body="Quokkas smile on Rottnest Island."))
    assert related_slugs(client, "loner") == []  # no section at all, rather than the newest posts


@pytest.mark.parametrize(
    "body",
    [
        'NEAR(" AND OR NOT * ^ title: body: "unbalanced ( { } -- \'',
        "🙂 🙃 — … ·",
        "<!-- nothing but a comment -->",
        "word " * 50_000,
        "x" * 100_000,
    ],
)
def test_hostile_text_is_only_words(client, write_post, body):
    write_topics(write_post)
    write_post("odd.md", post_text("OR * NEAR( AND", date="2019-01-01", body=body))
    assert client.get("/posts/odd").status_code == 200
    assert len(related_slugs(client, "ros-2")) == 3


def test_computed_once_per_content_version_and_post(app, write_post, monkeypatch):
    write_topics(write_post)
    calls = []
    real_rank = related.rank
    monkeypatch.setattr(related, "rank", lambda *args: calls.append(args[0].slug) or real_rank(*args))
    with app.test_request_context():
        ros = content.get_post("ros-2")
        first = related.related_posts(ros)
        assert related.related_posts(ros) == first and calls == ["ros-2"]
        related.related_posts(content.get_post("bread-2"))
        assert calls == ["ros-2", "bread-2"]
    write_post("bread-7.md", post_text("Sourdough Diaries: Rye", date="2022-04-01", body="Rye sourdough starter."))
    with app.test_request_context():
        again = related.related_posts(content.get_post("ros-2"))
        assert calls == ["ros-2", "bread-2", "ros-2"]  # a new content version
        assert [p.slug for p in again] == [p.slug for p in first]


def test_query_terms_are_the_distinctive_words():
    weights = related.weigh_words(("ROS 2 Tutorial", "", "", "the ros node publishes; the node runs 42 of it"))
    assert "42" not in weights and "of" not in weights and "it" not in weights
    assert weights["ros"] > weights["node"] > weights["publishes"]
    counts = {"ros": 5, "tutorial": 3, "node": 4, "publishes": 2, "the": 90, "runs": 1}
    terms = related.query_terms(weights, counts, total=100)
    assert terms[0] == "ros" and "the" not in terms and "runs" not in terms  # too common; only here
    assert set(terms) == {"ros", "tutorial", "node", "publishes"}
    assert related.words("Café CRÈME naïve_x") == ["cafe", "creme", "naive", "x"]


def test_a_worker_answers_other_requests_while_it_builds_the_index(tmp_path):
    """The first post page after a change builds the search index (seconds at 10,000 posts);
    the same gevent worker keeps answering its other connections meanwhile."""
    posts = tmp_path / "posts"
    posts.mkdir()
    words = [f"w{n}x" for n in range(400)]
    for i in range(3000):
        body = " ".join(words[(i * 7 + j * 13) % 400] for j in range(700))
        (posts / f"p{i}.md").write_text(post_text(f"Post {i}", date="2023-01-01", body=body))
    server = Server(tmp_path, posts=posts)
    connections = []
    try:
        slow = server.connect()
        connections.append(slow)
        slow.request("GET", "/healthz")
        pid = json.loads(slow.getresponse().read())["pid"]
        for _ in range(60):  # a second connection to the same worker
            fast = server.connect()
            connections.append(fast)
            fast.request("GET", "/healthz")
            if json.loads(fast.getresponse().read())["pid"] == pid:
                break
        else:
            pytest.skip("no second connection reached the worker")
        done: list[str] = []
        slow.request("GET", "/posts/p1")  # a miss: builds the index, then related posts
        reader = threading.Thread(target=lambda: done.append(f"post {slow.getresponse().status}"))
        reader.start()
        time.sleep(0.3)  # the worker is building by now
        fast.request("GET", "/healthz")
        assert fast.getresponse().status == 200
        done.append("healthz")
        reader.join(timeout=60)
        assert done == ["healthz", "post 200"]
    finally:
        for connection in connections:
            connection.close()
        server.stop()


def test_related_queries_read_only_the_matching_rows():
    """As for search: the per-version live-rows filter is applied after the MATCH, so a post's
    word counts and its "more like this" query do not look up every live row."""
    from blogapp.posts.post import parse_post
    from blogapp.search import fulltext as search_module

    def post(i: int):
        return parse_post(
            f'---\ntitle: "Post {i}"\ndate: 2024-01-01\n---\n',
            f"p{i}.md",
            slug=f"p{i}",
            timezone=dt.UTC,
            default_author="A",
        )

    posts = [post(i) for i in range(3000)]
    bodies = {p.slug: f"filler{int(p.slug[1:]) % 50} text" for p in posts}
    bodies["p1"] = bodies["p2"] = bodies["p3"] = "capybara wombat quokka"
    index = search_module.Index("v", posts, lambda p: bodies[p.slug])
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    index._db.set_progress_handler(tick, 100)
    matches = related.text_matches(posts[1], index, 10, {})
    assert {index.by_rowid[rowid].slug for rowid in matches} == {"p1", "p2", "p3"}
    assert steps[0] < 300, steps[0]


def test_a_huge_post_is_weighed_by_its_weightiest_words_only():
    """A post of 233,000 distinct words made 233,000 index lookups (~2 s on the event loop);
    only its MAX_CANDIDATES weightiest words are looked up now (issue 20, item 12)."""
    body = " ".join(f"word{chr(97 + i % 26)}{i // 26:05d}x" for i in range(5000))
    weights = related.weigh_words(("Distinctive Title", "", "", body + " repeated repeated repeated"))
    assert len(weights) == related.MAX_CANDIDATES
    assert {"distinctive", "title", "repeated"} <= set(weights)  # the weightiest are kept
    assert related.weigh_words(("", "", "", body)) == related.weigh_words(("", "", "", body))  # no ties left to chance
    small = related.weigh_words(("ROS 2 Tutorial", "", "", "the ros node publishes"))
    assert small == related.weigh_words(("ROS 2 Tutorial", "", "", "the ros node publishes"), limit=10**9)
