"""Images: hardened ECR repositories, and both ways to supply an image (CI reference, or built by pulumi-docker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.images import context_digest
from offline.engine import StackRun, is_secret

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMAGE = "docker:index/image:Image"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
PROD_WEB_DIGEST = "sha256:81c829824e1ac844eb4387224614a77c6a7d8c9cdb0f48fa92e26efcf8d43ae7"
FIXTURE = "tests/fixtures/app"


def container(run: StackRun, task: str) -> dict:
    """The task's app container (the essential one; a web or AI task also carries the metrics collector sidecar)."""
    definitions = json.loads(run.one(TASK_DEFINITION, task).plain("containerDefinitions"))
    (app,) = [d for d in definitions if d["essential"]]  # an image built elsewhere adds a volume-init container
    return dict(app)


def test_a_hardened_repository_per_service(any_stack: StackRun) -> None:
    images_key = any_stack.one("aws:kms/key:Key", "keys-images")
    repositories = {r.inputs["name"]: r for r in any_stack.of_type(REPOSITORY)}
    prefix = f"maratron-{any_stack.stack}"
    assert set(repositories) == {f"{prefix}/web", f"{prefix}/ai", f"{prefix}/backup"}
    for repository in repositories.values():
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository.inputs["encryptionConfigurations"] == [
            {"encryptionType": "KMS", "kmsKey": images_key.outputs["arn"]}]
        # Only a stack that opts out of retaining (dev's removalPolicy: destroy) may delete a repository with images.
        assert repository.inputs["forceDelete"] is (any_stack.stack == "dev")


def test_lifecycle_keeps_the_configured_number_of_images(prod: StackRun, dev: StackRun) -> None:
    for run, keep in ((prod, 30), (dev, 10)):
        for policy in run.of_type(LIFECYCLE):
            rules = json.loads(policy.inputs["policy"])["rules"]
            count_rule = next(r for r in rules if r["selection"]["countType"] == "imageCountMoreThan")
            assert count_rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan",
                                               "countNumber": keep}
            assert count_rule["action"] == {"type": "expire"}
        assert sorted(p.inputs["repository"] for p in run.of_type(LIFECYCLE)) == \
            sorted(r.outputs["name"] for r in run.of_type(REPOSITORY))


def test_a_ci_digest_runs_by_digest_from_the_stack_repository(prod: StackRun) -> None:
    repository = prod.one(REPOSITORY, "web")
    assert container(prod, "web")["image"] == f"{repository.outputs['repositoryUrl']}@{PROD_WEB_DIGEST}"
    assert container(prod, "migrate")["image"] == container(prod, "web")["image"]
    assert prod.outputs["webImage"] == container(prod, "web")["image"]
    # Nothing of the app is built when CI supplies the image; only the backup job's own small image is.
    assert [i.name for i in prod.of_type(IMAGE)] == ["backup-image"]


# Two variants cover every supply path (each full engine run costs about a second).
BUILT = {"webImage": "", "webBuildContext": FIXTURE, "aiImage": "v1.4.2"}
FULL_AI = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron-dev/ai@{PROD_WEB_DIGEST}"
REFERENCED = {"webImage": "latest", "aiImage": FULL_AI}


def test_a_tag_runs_from_the_stack_repository(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("dev", **BUILT)
    assert run.ok, run.error_details
    url = run.one(REPOSITORY, "ai").outputs["repositoryUrl"]
    assert container(run, "ai")["image"] == f"{url}:v1.4.2"


def test_a_full_reference_to_the_own_repository_is_kept_and_latest_is_tolerated_outside_prod(
        run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("dev", **REFERENCED)
    assert run.ok, run.error_details
    assert container(run, "ai")["image"] == FULL_AI
    assert container(run, "web")["image"] == f"{run.one(REPOSITORY, 'web').outputs['repositoryUrl']}:latest"


def test_a_reference_to_another_repository_is_rejected(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("dev", aiImage=FULL_AI.replace("maratron-dev/ai", "someone-else/ai"))
    assert not run.ok
    assert "is not in this stack's repository 123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron-dev/ai" in \
        str(run.error)


def test_a_build_context_is_built_for_arm64_pushed_and_run_by_digest(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("dev", **BUILT)
    assert run.ok, run.error_details
    image = run.one(IMAGE, "web-image")
    assert run.component_of(image) == run.one("maratron:app:ImageRepository", "web")
    url = run.one(REPOSITORY, "web").outputs["repositoryUrl"]
    context = Path(FIXTURE).resolve()
    assert image.inputs["build"] == {"context": str(context), "dockerfile": str(context / "Dockerfile"),
                                     "platform": "linux/arm64"}
    assert image.inputs["imageName"] == f"{url}:build-{context_digest(context)[:16]}"
    registry = image.inputs["registry"]
    assert registry["server"] == url and registry["username"] == "AWS"
    assert is_secret(registry["password"])  # the ECR token never lands in state in plain text
    assert image.inputs.get("skipPush") is False
    assert container(run, "web")["image"] == image.outputs["repoDigest"]
    assert container(run, "migrate")["image"] == image.outputs["repoDigest"]
    assert image.outputs["repoDigest"].startswith(f"{url}@sha256:")


def test_the_build_tag_follows_the_content(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "big.js").write_text("ignored")
    first = context_digest(tmp_path)
    (tmp_path / "node_modules" / "big.js").write_text("still ignored")
    assert context_digest(tmp_path) == first
    (tmp_path / "server.js").write_text("console.log(1)")
    assert context_digest(tmp_path) != first


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"webImage": ""},
     'maratron:webImage = "": required: set webImage (a digest sha256:... or tag the app\'s CI pushed) or '
     "webBuildContext (a directory with a Dockerfile to build)"),
    ({"aiImage": "ai:v1@sha"}, 'maratron:aiImage = "ai:v1@sha": must be an image digest (sha256:<64 hex>), a tag'),
    ({"aiImage": "sha256:abc"}, "must be an image digest"),
    ({"webImage": "latest"}, 'maratron:webImage = "latest": `latest` is not allowed in prod'),
    ({"webImage": "", "webBuildContext": "no/such/dir"}, "maratron:webBuildContext = \"no/such/dir\": must be a "
                                                         "directory (relative to the project)"),
    ({"webImage": "", "webBuildContext": "tests"}, "must contain a Dockerfile"),
])
def test_image_source_errors(run_variant, overrides: dict, expected: str) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **overrides)
    assert not run.ok
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]  # nothing registered on a config error
    assert expected in str(run.error), str(run.error)


def test_both_image_and_context_is_an_error(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", webBuildContext=FIXTURE)
    assert "set either webImage or webBuildContext, not both" in str(run.error)
