"""Container images: the exact image each service runs, from the foundation's repositories.

The repositories belong to the account foundation (bootstrap/, components/image_registry.py), shared by every
environment; this module finds images in them. Two ways to supply an image, chosen per service by configuration:

* **reference** (the normal path): CI builds, scans and pushes the image (the app repository's image job for web
  and ai, this repository's for backup), then `webImage` / `aiImage` / `backupImage` is set to its digest
  (`sha256:...`, preferred: a digest names exactly one image) or a tag. `find_image` looks it up at preview time
  (components/foundation.py), so an image that was never pushed fails the preview.
* **build**: `pulumi up` builds the given context for linux/arm64 with pulumi-docker and pushes it into the
  foundation's repository (`BuiltImage`); the service runs the pushed image by digest (`repoDigest`).

Why digests everywhere: ECS resolves a tag at deploy time; a digest makes the task definition itself say which bytes
run, which is what rollbacks (deployment circuit breaker) and audits need. A tag is resolved to its digest too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
import pulumi_random as random

from components.settings import Rules, setting

DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>(@sha256:<hex> | :<tag>)
ECR_REFERENCE_PATTERN = re.compile(
    r"^(?P<repository>\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*)"
    r"(@(?P<digest>sha256:[0-9a-f]{64})|:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))$")

def _dockerignored(context: Path) -> frozenset[str]:
    """The paths the context's .dockerignore excludes by name (`node_modules`, `.next/`, `/.git`). Wildcard patterns
    are not honoured, and none at all when one is negated (`!`): those files then count, a superset of what Docker
    sends, so the tag can change without a rebuild but never stay while the image changes."""
    file = context / ".dockerignore"
    lines = [line.strip() for line in file.read_text().splitlines()] if file.is_file() else []
    patterns = [line.strip("/") for line in lines if line and not line.startswith("#")]
    if any(p.startswith("!") for p in patterns):
        return frozenset()
    return frozenset(p for p in patterns if not any(c in p for c in "*?["))


def context_digest(context: Path) -> str:
    """A content hash of what Docker sends of a build context (every file .dockerignore does not exclude: paths and
    bytes), a part of the pushed tag. pulumi-docker rebuilds when that content changes, so the tag must change too:
    the repositories' tags are immutable."""
    ignored = _dockerignored(context)
    digest = hashlib.sha256()
    for path in sorted(context.rglob("*")):
        relative = path.relative_to(context).as_posix()
        parents = {relative.rsplit("/", n)[0] for n in range(relative.count("/") + 1)}
        if not path.is_file() or parents & ignored:
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def check_image_reference(value: str) -> str | None:
    if not value or DIGEST_PATTERN.match(value) or TAG_PATTERN.match(value) or ECR_REFERENCE_PATTERN.match(value):
        return None
    return ("must be an image digest (sha256:<64 hex>), a tag, or <account>.dkr.ecr.<region>.amazonaws.com/<repo>"
            "@sha256:<64 hex> (or :<tag>)")


@dataclass(frozen=True, kw_only=True)
class ImageSource:
    """Where a service's image comes from: exactly one of a reference the app's CI pushed and a build context.

    Keys are prefixed with the service (webImage, webBuildContext).
    """

    reference: str = setting(
        "image", "", "{title} image CI pushed to the foundation's {prefix} repository: a digest (sha256:...; "
        "preferred), a tag, or the full <repositoryUrl>@sha256:...; looked up at preview. Exactly one of "
        "{prefix}Image and {prefix}BuildContext; `latest` is rejected in prod.", check=check_image_reference)
    build_context: str = setting(
        "buildContext", "", "Instead of {prefix}Image: a Docker build context (directory with a Dockerfile, relative "
        "to the project) that `pulumi up` builds for linux/arm64 and pushes to the foundation's repository, tagged "
        "by content hash (needs push rights to that repository: an admin's credentials; the foundation's "
        "deployPushesBackupImage grants the deploy roles the backup repository only).")

    def validate(self, rules: Rules) -> None:
        image, context = rules.key("reference"), rules.key("build_context")
        if self.reference and self.build_context:
            rules.problem("reference", f"set either {image} or {context}, not both", also=["build_context"])
        elif not self.reference and not self.build_context:
            rules.problem("reference", f"required: set {image} (a digest sha256:... or tag the app's CI pushed) or "
                          f"{context} (a directory with a Dockerfile to build)", also=["build_context"])


@dataclass(frozen=True)
class Repository:
    """One of the foundation's repositories, as its outputs contract describes it."""

    name: str
    """maratron/web"""
    url: str
    """<registry>.dkr.ecr.<region>.amazonaws.com/maratron/web"""
    arn: str
    registry_id: str


class ImageNotFoundError(Exception):
    """The reference names no image of the repository (the message says why, in one line)."""


def find_image(repository: Repository, reference: str) -> str:
    """`<repository url>@<digest>` of the pushed image `reference` names (a digest, a tag, or a full reference into
    this repository); raises ImageNotFoundError."""
    full = ECR_REFERENCE_PATTERN.match(reference)
    if full:
        if full.group("repository") != repository.url:
            raise ImageNotFoundError(f"is not in the foundation's repository {repository.url} (tasks pull only from "
                                     "it)")
        reference = full.group("digest") or full.group("tag")
    by_digest = bool(DIGEST_PATTERN.match(reference))
    try:
        # Keyword arguments only: get_image's first positional parameter is image_digest (pulumi-aws#2466).
        found = aws.ecr.get_image(repository_name=repository.name, registry_id=repository.registry_id,
                                  image_digest=reference if by_digest else None,
                                  image_tag=None if by_digest else reference)
    except Exception as error:  # invoke failures arrive as plain Exceptions ("invoke of ... failed: ...")
        raise ImageNotFoundError(f"not in {repository.url} ({_reason(error)})") from None
    return f"{repository.url}@{found.image_digest}"


def _reason(error: Exception) -> str:
    """The provider's own words (ImageNotFoundException: ...) without the SDK's invoke wrapper."""
    text = str(error)
    marker = text.find("ImageNotFoundException")
    return text[marker:].rstrip(" )").split(" (imageDigest")[0].split(" (imageTag")[0] if marker >= 0 else text


class BuiltImage(pulumi.ComponentResource):
    """An image `pulumi up` builds for linux/arm64 from a context and pushes into a foundation repository."""

    uri: pulumi.Output[str]
    """<repository url>@<digest> of the pushed image."""

    def __init__(self, name: str, *, context: Path, repository: pulumi.Output[Repository],
                 platform: str = "linux/arm64", opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:app:BuiltImage", name, None, opts)
        context = context.resolve()
        digest = context_digest(context)
        # The foundation's repositories are shared by every stack and their tags are immutable: ECR refuses a push
        # to an existing tag (ImageTagAlreadyExistsException, https://docs.aws.amazon.com/AmazonECR/latest/userguide/
        # image-tag-mutability.html), and a rebuild is never byte-identical. So a tag names one build: the content's
        # digest plus a random part this stack keeps while the content is unchanged (keepers) - another stack, a
        # re-created stack or a changed context gets a new one.
        build = random.RandomId(f"{name}-build", byte_length=4, keepers={"context": digest, "platform": platform},
                                opts=pulumi.ResourceOptions(parent=self))
        tag = build.hex.apply(lambda suffix: f"build-{digest[:12]}-{suffix}")
        url = repository.apply(lambda r: r.url)
        token = aws.ecr.get_authorization_token_output(registry_id=repository.apply(lambda r: r.registry_id))
        image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(url, ":", tag),
            build=docker.DockerBuildArgs(context=str(context), dockerfile=str(context / "Dockerfile"),
                                         platform=platform),
            registry=docker.RegistryArgs(server=url, username=token.user_name,
                                         password=pulumi.Output.secret(token.password)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.uri = image.repo_digest
        self.register_outputs({"uri": self.uri})
