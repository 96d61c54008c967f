"""Container images: one ECR repository per service, and the exact image each service runs.

Two ways to supply the image, chosen per service by configuration:

* **reference** (the normal path): the app's own CI builds, scans and pushes the image, then sets `webImage` /
  `aiImage` to its digest (`sha256:...`, preferred: a digest names exactly one image) or to a release tag. The
  repository's tags are immutable, so a tag cannot be re-pointed behind the stack's back either.
* **build**: `pulumi up` builds the given context for linux/arm64 with pulumi-docker and pushes it; the service then
  runs the pushed image by digest (`repoDigest`), so every rebuild rolls the service and nothing drifts.

Why digests everywhere: ECS resolves a tag at deploy time; a digest makes the task definition itself say which bytes
run, which is what rollbacks (deployment circuit breaker) and audits need.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.base import AwsContext, RemovalPolicy, named_tags, retains
from components.settings import Rules, require_valid, setting

DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>(@sha256:<hex> | :<tag>)
ECR_REFERENCE_PATTERN = re.compile(
    r"^(?P<repository>\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*)"
    r"(@(?P<digest>sha256:[0-9a-f]{64})|:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))$")

# Not part of an image's content: caches and VCS metadata (a rebuild for them would only churn tags).
_SKIPPED_DIRS = frozenset({".git", "node_modules", ".next", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache"})


def context_digest(context: Path) -> str:
    """A content hash of a build context (paths and bytes), used as the pushed tag: same content, same tag."""
    digest = hashlib.sha256()
    for path in sorted(context.rglob("*")):
        relative = path.relative_to(context)
        if any(part in _SKIPPED_DIRS for part in relative.parts) or not path.is_file():
            continue
        digest.update(relative.as_posix().encode() + b"\0")
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
        "image", "", "{title} image the app's CI pushed to this stack's {prefix} ECR repository: a digest (sha256:...; "
        "preferred), a tag, or the full <repositoryUrl>@sha256:... Exactly one of {prefix}Image and "
        "{prefix}BuildContext; `latest` is rejected in prod.", check=check_image_reference)
    build_context: str = setting(
        "buildContext", "", "Instead of {prefix}Image: a Docker build context (directory with a Dockerfile, relative "
        "to the project) that `pulumi up` builds for linux/arm64 and pushes, tagged by content hash.")

    def validate(self, rules: Rules) -> None:
        image, context = rules.key("reference"), rules.key("build_context")
        if self.reference and self.build_context:
            rules.problem("reference", f"set either {image} or {context}, not both", also=["build_context"])
        elif not self.reference and not self.build_context:
            rules.problem("reference", f"required: set {image} (a digest sha256:... or tag the app's CI pushed) or "
                          f"{context} (a directory with a Dockerfile to build)", also=["build_context"])


@dataclass(frozen=True, kw_only=True)
class RegistrySettings:
    """The configurable part of every ECR repository of the stack."""

    retain_count: int = setting(
        "imageRetainCount", 30, "ECR lifecycle: keep the newest N images per repository (1-1000); older ones expire. "
        "30 leaves ample rollback targets.", minimum=1, maximum=1000)


@dataclass(frozen=True)
class ImageRepositoryArgs:
    """Inputs of ImageRepository."""

    context: AwsContext
    """Account, partition and region (the repository URL is derived from them to check full references)."""
    repository_name: str
    """ECR repository name, e.g. maratron-prod/web."""
    kms_key: aws.kms.Key
    """CMK that encrypts the images (EncryptionKeys.images)."""
    source: ImageSource
    """The image to run: a reference the app's CI pushed, or a build context to build and push on `pulumi up`."""
    settings: RegistrySettings = field(default_factory=RegistrySettings)
    """How many images the repository keeps; default 30."""
    platform: str = "linux/arm64"
    """Build platform; default linux/arm64, matching the Graviton task runtime."""
    removal_policy: RemovalPolicy = "retain"
    """retain (default): a repository that holds images is never deleted with the stack; destroy: it is, images and
    all (ECR force_delete)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the repository."""

    def __post_init__(self) -> None:
        require_valid(self.source)


class ImageRepository(pulumi.ComponentResource):
    """A scanned, immutable-tag, KMS-encrypted ECR repository with a lifecycle policy, and the image to run."""

    repository: aws.ecr.Repository
    image_uri: pulumi.Output[str]
    """The image a task definition should run (a digest reference whenever one is known)."""

    def __init__(self, name: str, args: ImageRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:app:ImageRepository", name, None, opts)
        self._args = args
        self.repository = aws.ecr.Repository(
            name,
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",  # a pushed tag always names the same image (CKV_AWS_51)
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.kms_key.arn)],
            force_delete=not retains(args.removal_policy),
            tags=named_tags(args.tags, args.repository_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ecr.LifecyclePolicy(
            name,
            repository=self.repository.name,
            policy=json.dumps({"rules": [
                # Untagged layers left by multi-arch or aborted pushes are never run: drop them after a day.
                {"rulePriority": 1, "description": "Expire untagged images after 1 day",
                 "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                               "countNumber": 1},
                 "action": {"type": "expire"}},
                {"rulePriority": 2, "description": f"Keep the newest {args.settings.retain_count} images",
                 "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                               "countNumber": args.settings.retain_count},
                 "action": {"type": "expire"}},
            ]}),
            opts=pulumi.ResourceOptions(parent=self.repository),
        )
        self.image_uri = self._built(name) if args.source.build_context else self._referenced()
        self.register_outputs({"repositoryUrl": self.repository.repository_url, "imageUri": self.image_uri})

    @property
    def build_context(self) -> str:
        """The build context when `pulumi up` builds this image (its Dockerfile is checked), else ""."""
        return self._args.source.build_context

    @property
    def expected_url(self) -> str:
        """The repository URL, known before creation (full references must point at it)."""
        ctx = self._args.context
        suffix = ".cn" if ctx.partition == "aws-cn" else ""
        return f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com{suffix}/{self._args.repository_name}"

    def _referenced(self) -> pulumi.Output[str]:
        reference = self._args.source.reference
        if full := ECR_REFERENCE_PATTERN.match(reference):
            if full.group("repository") != self.expected_url:
                raise ValueError(f"image {reference!r} is not in this stack's repository {self.expected_url}: "
                                 "tasks may pull only from their own repository")
            return pulumi.Output.from_input(reference)
        separator = "@" if DIGEST_PATTERN.match(reference) else ":"
        return self.repository.repository_url.apply(lambda url: f"{url}{separator}{reference}")

    def _built(self, name: str) -> pulumi.Output[str]:
        context = (Path.cwd() / self._args.source.build_context).resolve()  # Pulumi runs the program in the project dir
        tag = f"build-{context_digest(context)[:16]}"  # immutable tags: a new tag exactly when the content changes
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        image = docker.Image(
            f"{name}-image",
            image_name=self.repository.repository_url.apply(lambda url: f"{url}:{tag}"),
            build=docker.DockerBuildArgs(context=str(context), dockerfile=str(context / "Dockerfile"),
                                         platform=self._args.platform),
            registry=docker.RegistryArgs(
                server=self.repository.repository_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            opts=pulumi.ResourceOptions(parent=self.repository),
        )
        return image.repo_digest
