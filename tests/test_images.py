"""Images: every service runs a digest looked up in the foundation's repository; the app stack owns no repository."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.images import context_digest
from offline.engine import StackRun, is_secret, run_program, stack_config
from offline.foundation import app_mocks, pushed_images
from offline.mocks import PushedImage
from tests.configs import DEV_BUILT_IMAGES, DEV_TAGGED_METRICS

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
IMAGE = "docker:index/image:Image"
WEB_DIGEST = "sha256:81c829824e1ac844eb4387224614a77c6a7d8c9cdb0f48fa92e26efcf8d43ae7"
AI_DIGEST = "sha256:652ac1d4b1e1e6e95d91410bf229cc103dc8eb0c8c6e5fad24d1309620a03fad"
BACKUP_DIGEST = "sha256:5447a1b27df1fcecad6e14ba46d6255ad56abc3198a04f2617c3f4e7b6709ef8"
NEVER_PUSHED = "sha256:" + "0" * 64


def container(run: StackRun, task: str) -> dict[str, Any]:
    """The task's app container (the essential one; a web or AI task also carries the metrics collector sidecar)."""
    definitions = json.loads(run.one(TASK_DEFINITION, task).plain("containerDefinitions"))
    (app,) = [d for d in definitions if d["essential"]]  # an image built elsewhere adds a volume-init container
    return dict(app)


def foundation(run: StackRun) -> dict[str, Any]:
    return run.one("pulumi:pulumi:StackReference").outputs["outputs"]


FOUNDATION_ONLY = Path(__file__).with_name("programs") / "foundation_only.py"  # the app program's first box


def run_with(stack: str, images: dict[str, tuple[PushedImage, ...]] | None = None, *, program: Path | None = None,
             **overrides: Any) -> StackRun:
    """One app run with config overrides and, optionally, another set of pushed images (or only the program's first
    box, FOUNDATION_ONLY, for failures of the foundation checks)."""
    full = {(k if ":" in k else f"maratron:{k}"): v for k, v in overrides.items()}
    config, secret_keys, placeholders = stack_config(stack, full)
    return run_program(stack, config, secret_keys, placeholders=placeholders, program=program,
                       mocks=app_mocks(config, images=images))


def test_the_app_stack_creates_no_image_repository(any_stack: StackRun) -> None:
    assert not [r for r in any_stack.resources if r.type.startswith("aws:ecr/")]
    assert not any_stack.of_type(IMAGE)  # nothing is built either: every stack runs pushed digests


def test_every_service_runs_the_pushed_digest_from_the_foundation_repository(prod: StackRun) -> None:
    urls = foundation(prod)["repositoryUrls"]
    assert container(prod, "web")["image"] == f"{urls['web']}@{WEB_DIGEST}"
    assert container(prod, "migrate")["image"] == container(prod, "web")["image"]
    assert container(prod, "ai")["image"] == f"{urls['ai']}@{AI_DIGEST}"
    assert container(prod, "backup")["image"] == f"{urls['backup']}@{BACKUP_DIGEST}"
    assert (prod.outputs["webImage"], prod.outputs["aiImage"], prod.outputs["backupImage"]) == (
        container(prod, "web")["image"], container(prod, "ai")["image"], container(prod, "backup")["image"])


def test_preview_looks_every_image_up_by_keyword_in_the_foundation_registry(prod: StackRun) -> None:
    outputs = foundation(prod)
    lookups = [args for token, args in prod.invokes if token == "aws:ecr/getImage:getImage"]
    assert sorted(lookups, key=lambda a: a["repositoryName"]) == [
        {"registryId": outputs["registryId"], "repositoryName": outputs["repositoryNames"][service],
         "imageDigest": digest}
        for service, digest in sorted((("ai", AI_DIGEST), ("backup", BACKUP_DIGEST), ("web", WEB_DIGEST)),
                                      key=lambda p: outputs["repositoryNames"][p[0]])]


def test_a_tag_or_a_full_reference_resolves_to_the_digest(run_variant: Callable[..., StackRun]) -> None:
    run = run_variant("dev", **DEV_TAGGED_METRICS)  # with app metrics on, for tests/test_app_metrics.py: one run
    assert run.ok, run.error_details
    assert (run.config["maratron:aiImage"], run.config["maratron:webImage"]) == (
        "sha-4f2c1a9", f"123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron/web@{WEB_DIGEST}")
    urls = foundation(run)["repositoryUrls"]
    assert container(run, "ai")["image"] == f"{urls['ai']}@{AI_DIGEST}"  # a task definition always names bytes
    assert container(run, "web")["image"] == f"{urls['web']}@{WEB_DIGEST}"


def test_an_image_never_pushed_fails_before_any_aws_resource() -> None:
    run = run_with("dev", webImage=NEVER_PUSHED, backupImage="sha-missing", program=FOUNDATION_ONLY)
    assert not run.ok
    message = str(run.error)
    assert (f"maratron:webImage = '{NEVER_PUSHED}': not in 123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron/web "
            f"(ImageNotFoundException: The image with imageId {{imageDigest={NEVER_PUSHED}}} does not exist within "
            "the repository with name 'maratron/web' in the registry with id '123456789012')") in message
    assert "push it (role arn:aws:iam::123456789012:role/maratron/ci/maratron-app-ci)" in message
    assert "maratron:backupImage = 'sha-missing': not in" in message and "maratron-infra-ci" in message
    assert "maratron:aiImage" not in message  # the pushed one is fine: every problem, and only those
    registered = {r.type for r in run.resources if r.custom}
    assert "pulumi:pulumi:StackReference" in registered
    # No AWS resource, not even the stack's provider (random values are generated locally, never in the cloud).
    assert not {t for t in registered if t.startswith(("aws:", "pulumi:providers:"))}, registered


def test_a_reference_into_another_repository_is_rejected() -> None:
    run = run_with("dev", aiImage=f"123456789012.dkr.ecr.us-east-1.amazonaws.com/someone-else/ai@{AI_DIGEST}",
                   program=FOUNDATION_ONLY)
    assert "is not in the foundation's repository 123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron/ai" in \
        str(run.error)


FIXTURE = "tests/fixtures/app"


def test_a_build_context_is_built_for_arm64_into_the_foundation_repository_and_run_by_digest(
        run_variant: Callable[..., StackRun]) -> None:
    run = run_variant("dev", **DEV_BUILT_IMAGES)  # with tests/test_service.py's built web image: one run
    assert run.ok, run.error_details
    assert (run.config["maratron:backupImage"], run.config["maratron:backupBuildContext"]) == ("", FIXTURE)
    image = run.one(IMAGE, "backup-image")
    url = foundation(run)["repositoryUrls"]["backup"]
    context = Path(FIXTURE).resolve()
    assert image.inputs["build"] == {"context": str(context), "dockerfile": str(context / "Dockerfile"),
                                     "platform": "linux/arm64"}
    # One tag per build (immutable tags in repositories every stack shares): the content's digest and a random part
    # this stack keeps while the content is unchanged.
    build = run.one("random:index/randomId:RandomId", "backup-build")
    assert build.inputs["keepers"] == {"context": context_digest(context), "platform": "linux/arm64"}
    assert build.inputs["byteLength"] == 4
    assert image.inputs["imageName"] == f"{url}:build-{context_digest(context)[:12]}-{build.outputs['hex']}"
    registry = image.inputs["registry"]
    assert registry["server"] == url and registry["username"] == "AWS"
    assert is_secret(registry["password"])  # the ECR token never lands in state in plain text
    token = next(args for t, args in run.invokes if t == "aws:ecr/getAuthorizationToken:getAuthorizationToken")
    assert token == {"registryId": foundation(run)["registryId"]}
    assert container(run, "backup")["image"] == image.outputs["repoDigest"]
    assert image.outputs["repoDigest"].startswith(f"{url}@sha256:")
    assert not [args for t, args in run.invokes if t == "aws:ecr/getImage:getImage"
                and args["repositoryName"] == "maratron/backup"]  # built, not looked up


def test_the_offline_registry_holds_what_the_committed_stacks_run() -> None:
    images = pushed_images()
    assert {i.digest for i in images["maratron/web"]} >= {WEB_DIGEST}
    assert {i.digest for i in images["maratron/backup"]} >= {BACKUP_DIGEST}
    # A registry without the web image: the same stack fails, so the lookup is what decides.
    run = run_with("prod", images={**images, "maratron/web": ()}, program=FOUNDATION_ONLY)
    assert not run.ok and "maratron:webImage" in str(run.error)


def test_the_build_tag_follows_what_docker_sends(tmp_path: Path) -> None:
    """pulumi-docker rebuilds (and pushes) when the context Docker sends changes: the tag must change with it, and
    only what .dockerignore excludes may change without a new tag (the tags are immutable)."""
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("# caches\nnode_modules\n/.next/\n*.md\n")
    for folder in ("node_modules", ".next", "src"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.js").write_text("1")
    first = context_digest(tmp_path)
    (tmp_path / "node_modules" / "a.js").write_text("2")
    (tmp_path / ".next" / "a.js").write_text("2")
    assert context_digest(tmp_path) == first  # Docker does not send them
    (tmp_path / "src" / "a.js").write_text("2")
    second = context_digest(tmp_path)
    assert second != first
    # A wildcard is not honoured (Docker anchors `*.md` at the root; a copy of its matcher is not worth it): the file
    # counts, so the tag may change without a rebuild, never the other way round.
    (tmp_path / "src" / "notes.md").write_text("1")
    assert context_digest(tmp_path) != second
    # Without a .dockerignore, Docker sends node_modules too: a change there is a new build and a new tag.
    (tmp_path / ".dockerignore").unlink()
    third = context_digest(tmp_path)
    (tmp_path / "node_modules" / "a.js").write_text("3")
    assert context_digest(tmp_path) != third


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"webImage": ""},
     'maratron:webImage = "": required: set webImage (a digest sha256:... or tag the app\'s CI pushed) or '
     "webBuildContext (a directory with a Dockerfile to build)"),
    ({"backupImage": ""}, 'maratron:backupImage = "": required: set backupImage'),
    ({"aiImage": "ai:v1@sha"}, 'maratron:aiImage = "ai:v1@sha": must be an image digest (sha256:<64 hex>), a tag'),
    ({"aiImage": "sha256:abc"}, "must be an image digest"),
    ({"webImage": "latest"}, 'maratron:webImage = "latest": `latest` is not allowed in prod'),
    ({"backupImage": "latest"}, 'maratron:backupImage = "latest": `latest` is not allowed in prod'),
    ({"webImage": "", "webBuildContext": "no/such/dir"}, "maratron:webBuildContext = \"no/such/dir\": must be a "
                                                         "directory (relative to the project)"),
    ({"webImage": "", "webBuildContext": "tests"}, "must contain a Dockerfile"),
    ({"bootstrapStack": "shared"}, 'maratron:bootstrapStack = "shared": must be a fully qualified stack name'),
])
def test_image_source_errors(run_variant, overrides: dict, expected: str) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **overrides)
    assert not run.ok
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]  # nothing registered on a config error
    assert expected in str(run.error), str(run.error)


def test_both_image_and_context_is_an_error(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", webBuildContext=FIXTURE)
    assert "set either webImage or webBuildContext, not both" in str(run.error)
