from pathlib import Path

import jinja2
import pytest

from blogapp import create_app
from blogapp.config import DEFAULTS
from blogapp.config import ConfigError
from blogapp.web import templating
from blogapp.web.templating import CompiledTemplates
from blogapp.web.templating import compile_templates


def test_config_from_test_config(config):
    assert create_app(config).testing
    assert not create_app({**config, "TESTING": False}).testing


def test_environment_overrides_defaults(monkeypatch, posts_dir):
    monkeypatch.setenv("FLASK_BLOG_POSTS_DIR", str(posts_dir))
    monkeypatch.setenv("FLASK_BLOG_POSTS_PER_PAGE", "3")
    monkeypatch.setenv("FLASK_BLOG_TITLE", "Env Title")
    app = create_app()
    assert app.config["BLOG_POSTS_PER_PAGE"] == 3
    assert app.config["BLOG_TITLE"] == "Env Title"
    assert app.config["BLOG_POSTS_DIR"] == Path(posts_dir).resolve()


def test_test_config_ignores_environment(monkeypatch, config):
    monkeypatch.setenv("FLASK_BLOG_TITLE", "From the shell")
    assert create_app(config).config["BLOG_TITLE"] == DEFAULTS["BLOG_TITLE"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("BLOG_POSTS_PER_PAGE", 0),
        ("BLOG_POSTS_PER_PAGE", "many"),
        ("BLOG_FEED_LIMIT", -1),
        ("BLOG_TIMEZONE", "Mars/Olympus"),
        ("BLOG_SITE_URL", "example.com/blog"),
        ("BLOG_SITE_URL", "ftp://example.com"),
        ("BLOG_SHOW_DRAFTS", "perhaps"),
        ("BLOG_POSTS_DIR", "/no/such/folder"),
        ("CACHE_TYPE", ""),
    ],
)
def test_bad_settings_fail_at_startup(config, key, value):
    with pytest.raises(ConfigError, match=key):
        create_app({**config, key: value})


def test_site_url_trailing_slash_dropped(config):
    app = create_app({**config, "BLOG_SITE_URL": "https://example.com/blog/"})
    assert app.config["BLOG_SITE_URL"] == "https://example.com/blog"


def test_relative_dirs_resolve_against_repository_root(config):
    app = create_app({**config, "BLOG_POSTS_DIR": "content/posts"})
    assert app.config["BLOG_POSTS_DIR"] == (Path(__file__).parent.parent / "content" / "posts").resolve()


def test_every_setting_is_documented():
    """Each setting has its row in the reference's settings table."""
    reference = (Path(__file__).parent.parent / "docs" / "reference.md").read_text(encoding="utf-8")
    table = reference.split("## Settings", 1)[1].split("\n## ", 1)[0]
    missing = [key for key in DEFAULTS if f"| `{key}` |" not in table]
    assert not missing, f"settings missing from docs/reference.md: {missing}"


def _counting_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def compile(self, source, name=None, filename=None, *args, **kwargs):
        compiled.append(name)
        return real(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    return compiled


def test_a_second_app_in_the_process_compiles_no_template(config, monkeypatch):
    """Templates are compiled once a process (templating.CompiledTemplates), not once an app."""
    compiled = _counting_compiles(monkeypatch)
    assert create_app(config).test_client().get("/posts/hello-world").status_code == 200
    compiled.clear()  # whatever an earlier test left to compile
    assert create_app(config).test_client().get("/posts/hello-world").status_code == 200
    assert compiled == []


def test_an_edited_template_is_compiled_again(monkeypatch):
    compiled = _counting_compiles(monkeypatch)
    shared = CompiledTemplates()
    sources = {"page.html": "old {{ x }}"}
    first = jinja2.Environment(loader=jinja2.DictLoader(sources), bytecode_cache=shared)
    assert first.get_template("page.html").render(x=1) == "old 1"
    second = jinja2.Environment(loader=jinja2.DictLoader(sources), bytecode_cache=shared)
    assert second.get_template("page.html").render(x=2) == "old 2"
    sources["page.html"] = "new {{ x }}"
    third = jinja2.Environment(loader=jinja2.DictLoader(sources), bytecode_cache=shared)
    assert third.get_template("page.html").render(x=3) == "new 3"
    assert compiled == ["page.html", "page.html"]  # the first and the edited source, not the second


def test_templates_compiled_before_the_workers_fork_are_not_compiled_again(config, monkeypatch):
    """wsgi.py compiles every template in gunicorn's master: a worker's first pages compile none."""
    monkeypatch.setattr(templating, "COMPILED_TEMPLATES", CompiledTemplates())  # nothing compiled yet
    app = create_app(config)
    assert compile_templates(app) >= 15
    compiled = _counting_compiles(monkeypatch)
    client = app.test_client()
    for url in ("/", "/posts/hello-world", "/tags", "/tags/python", "/archive", "/search?q=hello", "/sitemap.xml"):
        assert client.get(url).status_code == 200, url
    assert client.get("/posts/no-such-post").status_code == 404
    assert compiled == []
