"""``flask --app blogapp check``: one ``path: reason`` line per invalid post, exit 1 if any."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import post_text

INVALID = {
    "date-not-a-date.md",
    "empty.md",
    "excerpt-with-unescaped-quotes.md",
    "front-matter-is-a-list.md",
    "no-title.md",
    "not-utf8.md",
}


def test_check_names_every_invalid_post(runner, posts_dir):
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    named = {Path(line.split(":", 1)[0]).name for line in lines}
    assert named == INVALID
    assert f"{posts_dir / 'excerpt-with-unescaped-quotes.md'}:3: front matter is not valid YAML" in result.stdout
    assert f"{posts_dir / 'no-title.md'}: missing required field 'title'" in result.stdout


def test_check_passes_on_good_posts(runner, posts_dir):
    for name in INVALID:
        (posts_dir / name).unlink()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0
    assert result.stdout == ""


def test_check_reports_duplicate_slugs(runner, posts_dir, write_post):
    write_post("another.md", post_text("Another", slug="hello-world"))
    result = runner.invoke(args=["check"])
    assert "another.md: slug 'hello-world' is already used by" in result.stdout


def test_check_command_line_on_the_bundled_content():
    """The real command, as an author runs it, over content/posts."""
    root = Path(__file__).parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "blogapp", "check"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "invalid" in result.stderr


# --- check --strict ------------------------------------------------------------------------


def strict_lines(runner) -> tuple[int, list[str]]:
    result = runner.invoke(args=["check", "--strict"])
    return result.exit_code, [line for line in result.stdout.splitlines() if ": warning: " in line]


def test_strict_reports_warnings_and_fails(runner, posts_dir, write_post):
    for name in INVALID:
        (posts_dir / name).unlink()
    assert runner.invoke(args=["check"]).exit_code == 0
    write_post("w-cover.md", post_text("Cover", coverImage="/assets/blog/nope.jpg", excerpt="Unique one."))
    write_post(
        "w-link.md",
        post_text("Link", excerpt="Unique two.", body="See [this](/posts/nowhere) and [ok](/posts/hello-world)."),
    )
    write_post("w-dup-a.md", post_text("Dup A", excerpt="Same words."))
    write_post("w-dup-b.md", post_text("Dup B", excerpt="Same words."))
    write_post("w-h1.md", post_text("Repeated Title", excerpt="Unique three.", body="# Repeated Title\n\nText."))
    code, lines = strict_lines(runner)
    assert code == 1
    text = "\n".join(lines)
    assert "w-cover.md: warning: coverImage file not found: /assets/blog/nope.jpg" in text
    assert "w-link.md: warning: link to /posts/nowhere leads nowhere" in text
    assert "/posts/hello-world" not in text
    assert "w-dup-b.md: warning: excerpt is identical to that of" in text
    assert "w-h1.md: warning: the body starts with a heading that repeats the title" in text
    assert "missing-cover.md: warning: author picture file not found" in text
    assert "w-dup-a.md: warning: excerpt" not in text


def test_strict_passes_on_clean_posts(runner, posts_dir, write_post):
    for path in posts_dir.glob("*.md"):
        path.unlink()
    write_post("clean.md", post_text("Clean", excerpt="Fine.", body="Links to [x](/posts/clean)."))
    code, lines = strict_lines(runner)
    assert (code, lines) == (0, [])


# --- new -------------------------------------------------------------------------------------


def test_new_writes_a_valid_draft_and_prints_its_path(runner, posts_dir, app):
    result = runner.invoke(args=["new", "Café & Crème: 2024!"])
    assert result.exit_code == 0
    path = Path(result.stdout.strip())
    assert path == posts_dir / "cafe-creme-2024.md"
    text = path.read_text()
    assert 'title: "Café & Crème: 2024!"' in text
    assert "draft: true" in text
    assert runner.invoke(args=["check"]).stdout.count("cafe-creme-2024") == 0  # valid
    with app.app_context():
        from blogapp import content

        post = next(p for p in content.get_store().snapshot().posts if p.slug == "cafe-creme-2024")
    assert post.draft
    assert abs((post.date - __import__("datetime").datetime.now(post.date.tzinfo)).total_seconds()) < 60
    second = runner.invoke(args=["new", "Café & Crème: 2024!", "--publish"])
    assert Path(second.stdout.strip()).name == "cafe-creme-2024-2.md"
    assert "draft" not in Path(second.stdout.strip()).read_text()


def new_post(app, title: str) -> tuple[Path, str]:
    result = app.test_cli_runner().invoke(args=["new", title])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip()), result.stderr


def test_new_never_takes_a_published_posts_slug(app, client, write_post, posts_dir):
    """The issue's case: a published post claims `launch` with `slug:`; a file launch.md
    would win that slug and take the post offline."""
    write_post("2024-01-15-our-launch.md", post_text("Our launch", slug="launch"))
    assert client.get("/posts/launch").status_code == 200
    path, told = new_post(app, "Launch")
    assert path == posts_dir / "launch-2.md"
    assert f"wrote {path}: a draft, at /posts/launch-2 once published ('launch' is taken" in told
    assert client.get("/posts/launch").status_code == 200
    assert "Our launch" in client.get("/posts/launch").get_data(as_text=True)


def test_new_picks_a_slug_no_post_alias_file_or_removal_claims(config, tmp_path, write_post, posts_dir):
    from blogapp import create_app

    (tmp_path / "gone.txt").write_text("launch-4\n/posts/launch-5\n")
    app = create_app({**config, "BLOG_GONE_FILE": str(tmp_path / "gone.txt")})
    write_post("a.md", post_text("A", slug="launch"))
    write_post("b.md", post_text("B", aliases="[launch-2, /posts/launch-3/]"))  # old URLs of b
    write_post("c.md", "---\ntitle: C\nslug: launch-6\n---\nNo date: invalid, yet claims launch-6.\n")
    write_post("d.md", "---\ntitle: [unclosed\nslug: 'launch-7'\n---\nBroken YAML.\n")
    write_post("e.md", post_text("E", slug="Launch-8", draft="true"))  # another case, a draft
    write_post("LAUNCH-9.md", "not even front matter")  # an invalid file's own name
    (posts_dir / "launch-10.md").mkdir()
    path, _ = new_post(app, "Launch")
    assert path.name == "launch-11.md"
    with app.test_client() as client:
        for slug in ("launch", "b"):
            assert client.get(f"/posts/{slug}").status_code == 200
        assert client.get("/posts/launch-2").status_code == 301


def test_new_does_not_follow_a_dangling_link(app, tmp_path, posts_dir):
    """launch.md -> a missing file outside the posts folder: the link is a taken name, and
    nothing is created through it."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (posts_dir / "launch.md").symlink_to(outside / "evil.md")
    (posts_dir / "launch-2.md").symlink_to(tmp_path / "nowhere" / "x.md")
    path, _ = new_post(app, "Launch")
    assert path == posts_dir / "launch-3.md"
    assert not path.is_symlink() and 'title: "Launch"' in path.read_text()
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "nowhere").exists()


def test_new_opens_with_o_excl_and_o_nofollow(app, posts_dir, monkeypatch):
    """A link made between the listing and the open (a race) is not followed either: the
    open itself refuses it, and the next name is taken."""
    from blogapp.cli import newpost

    real_open, calls = os.open, []

    def racing_open(path, flags, mode=0o777):
        if str(path).endswith("race.md") and not calls:
            calls.append(flags)
            os.symlink(posts_dir / "hello-world.md", path)  # a link to a live post appears
        return real_open(path, flags, mode)

    monkeypatch.setattr(newpost.os, "open", racing_open)
    hello = (posts_dir / "hello-world.md").read_bytes()
    path, _ = new_post(app, "Race")
    assert calls[0] & os.O_EXCL and calls[0] & os.O_NOFOLLOW and calls[0] & os.O_CREAT
    assert path == posts_dir / "race-2.md"
    assert (posts_dir / "hello-world.md").read_bytes() == hello


# --- export ----------------------------------------------------------------------------------


def test_export_writes_a_static_site_matching_the_live_one(config, tmp_path):
    from blogapp import create_app

    app = create_app({**config, "BLOG_SITE_URL": "https://blog.example.com"})
    target = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["export", str(target)])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    pages = {
        "/": "index.html",
        "/posts/hello-world": "posts/hello-world/index.html",
        "/posts/Upper Case & Spaces": "posts/Upper Case & Spaces/index.html",
        "/tags/python": "tags/python/index.html",
        "/feed.xml": "feed.xml",
        "/tags/python/atom.xml": "tags/python/atom.xml",
        "/sitemap.xml": "sitemap.xml",
        "/robots.txt": "robots.txt",
        "/assets/blog/cover.png": "assets/blog/cover.png",
        "/posts/missing-cover/cover.svg": "posts/missing-cover/cover.svg",
    }
    for url, file in pages.items():
        with client.get(url, base_url="https://blog.example.com/") as live:
            assert (target / file).read_bytes() == live.get_data(), url
    assert (target / "404.html").read_text().count("does not exist") == 1
    css = list((target / "static" / "css").glob("site.*.css"))
    assert len(css) == 1
    assert not (target / "posts" / "draft").exists()
    assert not list(target.rglob("*search*"))


def test_export_needs_a_site_url(runner, tmp_path):
    result = runner.invoke(args=["export", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "BLOG_SITE_URL" in result.output


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links as their target's name), for before/after checks;
    not Python's own bytecode caches (``__pycache__``), which the interpreter writes wherever
    it imports from unless PYTHONDONTWRITEBYTECODE is set."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if "__pycache__" in path.relative_to(folder).parts:
            continue
        if path.is_symlink():
            found[key] = os.readlink(path).encode()
        elif path.is_file():
            found[key] = path.read_bytes()
        else:
            found[key + "/"] = b""
    return found


@pytest.fixture
def export_config(config, tmp_path) -> dict:
    """The test configuration with BLOG_SITE_URL set, everything in tmp_path."""
    gone = tmp_path / "gone.txt"
    gone.write_text("# removed posts\n")
    return {**config, "BLOG_SITE_URL": "https://blog.example.com", "BLOG_GONE_FILE": str(gone)}


@pytest.fixture
def export_app(export_config):
    from blogapp import create_app

    return create_app(export_config)


def export(app, *args: str):
    return app.test_cli_runner().invoke(args=["export", *map(str, args)])


@pytest.mark.parametrize(
    "where",
    ["posts", "public", "posts/sub", "public/assets", "tmp", "tmp/../tmp", "image-cache", "image-cache/x", "cwd"],
)
@pytest.mark.parametrize("force", [False, True])
def test_export_refuses_folders_the_blog_reads_and_keeps_every_file(export_app, tmp_path, monkeypatch, where, force):
    """The posts, public and cache folders, inside them, a folder that holds them (tmp_path
    holds both), the current directory: refused, with or without --force, and nothing lost."""
    (tmp_path / "posts" / "sub").mkdir()
    (tmp_path / "posts" / "sub" / "keep.txt").write_text("keep")
    (tmp_path / "image-cache").mkdir()
    (tmp_path / "image-cache" / "a.avif").write_bytes(b"variant")
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.docx").write_bytes(b"years of work")
    monkeypatch.chdir(work)
    target = {"tmp": tmp_path, "tmp/../tmp": tmp_path / ".." / tmp_path.name, "cwd": Path(".")}.get(
        where, tmp_path / where
    )
    before = tree(tmp_path)
    result = export(export_app, target, *(["--force"] if force else []))
    assert result.exit_code == 2, result.output
    assert "choose another folder" in result.output
    assert "--force" not in result.output.replace("[--force]", "")  # never the advice
    assert tree(tmp_path) == before


def test_export_refuses_a_link_to_the_posts_folder(export_app, tmp_path, posts_dir):
    """Symlinks are followed: a link to the posts folder is the posts folder."""
    (tmp_path / "site").symlink_to(posts_dir, target_is_directory=True)
    before = tree(tmp_path)
    result = export(export_app, tmp_path / "site", "--force")
    assert result.exit_code == 2
    assert "is or contains the posts folder" in result.output
    assert tree(tmp_path) == before


def test_export_refuses_a_folder_of_the_users_files(export_app, tmp_path):
    """A non-empty folder that no export marked: refused, and the message does not suggest
    --force (which is refused too)."""
    target = tmp_path / "out"
    (target / "drafts").mkdir(parents=True)
    (target / "thesis.docx").write_bytes(b"years of work")
    (target / "drafts" / "notes.md").write_text("notes")
    (target / ".blogapp-export").write_text("not the export's signature\n")
    before = tree(tmp_path)
    for args in ([], ["--force"]):
        result = export(export_app, target, *args)
        assert result.exit_code == 2
        assert "is not an export made by this blog" in result.output
        assert "--force" not in result.output.replace("[--force]", "")
        assert tree(tmp_path) == before


def test_export_force_replaces_only_an_earlier_export(export_app, tmp_path, posts_dir):
    target = tmp_path / "out"
    target.mkdir()  # an empty folder is fine
    assert export(export_app, target).exit_code == 0
    assert (target / "posts" / "hello-world" / "index.html").is_file()
    assert (target / ".blogapp-export").read_text().splitlines()[1:] == sorted(
        path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file() and path.name[0] != "."
    )
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700: a web server reads it

    again = export(export_app, target)
    assert again.exit_code == 2
    assert "holds an earlier export: add --force to replace it" in again.output

    (target / "CNAME").write_text("blog.example.com")  # the author's own file, in the export
    before = tree(tmp_path)
    refused = export(export_app, target, "--force")
    assert refused.exit_code == 2
    assert "holds files the export did not write (CNAME)" in refused.output
    assert tree(tmp_path) == before

    (target / "CNAME").unlink()
    (posts_dir / "hello-world.md").unlink()  # a post taken down since the last export
    assert export(export_app, target, "--force").exit_code == 0
    assert not (target / "posts" / "hello-world").exists()
    assert (target / "posts" / "tags-as-list" / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gone.txt", "image-cache", "out", "posts", "public", "state"]


def _fail_after(monkeypatch, calls: int) -> None:
    """Make the exporter's file writer fail (a full disk) after ``calls`` files."""
    import errno

    from blogapp.cli import export as exporter

    real, count = exporter.write_file, [0]

    def write_file(out: Path, body: bytes) -> None:
        count[0] += 1
        if count[0] > calls:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(out, body)

    monkeypatch.setattr(exporter, "write_file", write_file)


def test_a_failed_export_leaves_the_old_one_whole(export_app, tmp_path, posts_dir, monkeypatch):
    target = tmp_path / "out"
    assert export(export_app, target).exit_code == 0
    (posts_dir / "hello-world.md").unlink()  # the new export would differ
    before = tree(tmp_path)
    _fail_after(monkeypatch, 10)
    result = export(export_app, target, "--force")
    assert result.exit_code == 1
    assert "export failed" in result.output and "No space left on device" in result.output
    assert tree(tmp_path) == before  # the old export whole, and nothing left beside it


def test_a_page_that_fails_fails_the_export(export_app, export_config, tmp_path):
    """A page answering 500 would be missing from the export: the export fails instead, and
    the old one stays."""
    from blogapp import create_app

    target = tmp_path / "out"
    assert export(export_app, target).exit_code == 0
    before = tree(tmp_path)
    broken = create_app(export_config)  # its own page cache, empty
    broken.view_functions["pages.tag"] = lambda tag: ("broken template", 500)
    result = export(broken, target, "--force")
    assert result.exit_code == 1
    assert "/tags/" in result.output and "500" in result.output
    assert tree(tmp_path) == before


def _project_copy(tmp_path: Path) -> Path:
    """A copy of the project (code, templates, static, content) with a .git and notes."""
    root = Path(__file__).parent.parent
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("blogapp", "templates", "static", "content"):
        shutil.copytree(root / name, project / name, ignore=ignore)
    shutil.copy(root / "README.md", project / "README.md")
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "notes.txt").write_text("my notes")
    return project


@pytest.mark.parametrize(
    ("cwd", "target", "refusal"),
    [
        ("", ".", "is or contains the project root"),
        ("", "..", "is or contains the project root"),
        ("", "content", "is or contains the posts folder"),
        ("", "content/posts", "is or contains the posts folder"),
        ("", "static", "is or contains the public folder"),
        ("", "templates", "is or contains the templates folder"),
        ("", "templates/sub", "is inside the templates folder"),
        ("", "blogapp", "is not an export made by this blog"),
        ("", ".git", "is not an export made by this blog"),
        ("content", ".", "is or contains the current directory"),
        ("..", "project", "is or contains the project root"),
    ],
)
def test_export_force_from_a_project_copy_deletes_nothing(tmp_path, cwd, target, refusal):
    """The command line as an author types it, in a copy of the project (its own root): the
    issue's `export . --force` deleted everything, `.git` and the posts included."""
    project = _project_copy(tmp_path)
    before = tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["FLASK_BLOG_SITE_URL"] = "https://blog.example.com"
    env["PYTHONPATH"] = str(project)  # the copy's blogapp, so the project root is the copy
    env["FLASK_BLOG_STATE_DIR"] = str(tmp_path.with_name(tmp_path.name + "-state"))  # not in the tree
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "blogapp", "export", target, "--force"],
        cwd=project / cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert refusal in result.stderr
    if "root" in refusal:
        assert f"({project})" in result.stderr  # the copy's root, not the repository's
    assert tree(tmp_path) == before


def test_export_into_a_new_folder_of_the_project_copy_and_again(tmp_path):
    """The README's `export out/` from the project root works (a new folder, then --force
    over the earlier export), and touches nothing else."""
    project = _project_copy(tmp_path)
    before = tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env |= {"FLASK_BLOG_SITE_URL": "https://blog.example.com", "PYTHONPATH": str(project)}
    env["FLASK_BLOG_STATE_DIR"] = str(tmp_path.with_name(tmp_path.name + "-state"))  # not in the tree
    for args in (["out/"], ["out/", "--force"]):
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "blogapp", "export", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert (project / "out" / "index.html").is_file()
    after = {k: v for k, v in tree(tmp_path).items() if not k.startswith(("project/out/", "project/cache/"))}
    assert after == before


def test_new_names_a_file_by_the_one_slug_function(runner, posts_dir):
    """`new` and author pages slug text one way (fields.slugify): Latin accents dropped, other
    scripts kept, punctuation runs one dash; a title with no letter or digit is `post`."""
    named = {"Café & Crème: 2024!": "cafe-creme-2024.md", "李明的笔记": "李明的笔记.md", "!!!": "post.md"}
    for title, name in named.items():
        result = runner.invoke(args=["new", title])
        assert result.exit_code == 0, result.output
        assert Path(result.stdout.strip()).name == name
