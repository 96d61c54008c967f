"""The image repositories every environment pulls from: web, ai and backup, owned by the account foundation.

One repository per image, shared by dev, staging and prod: an image is promoted by digest, so the bytes prod runs are
the bytes staging ran. Every repository:

* has immutable tags (a tag never moves: CKV_AWS_51), is scanned on push (CKV_AWS_163) and encrypted with the
  foundation's images CMK (CKV_AWS_136). ECR uses a CMK through grants it creates on the key when the repository is
  created, then calls GenerateDataKey on push and Decrypt on pull itself (ECR user guide, "Encryption at rest"), so
  pushers and pullers need no KMS permissions of their own (https://docs.aws.amazon.com/AmazonECR/latest/userguide/
  encryption-at-rest.html). The encryption is fixed at creation.
* scans through the registry's scanning configuration (BASIC scan on push for `maratron/*`): the repository-level
  setting "is being deprecated, in favor of specifying the image scanning configuration at the registry level" (ECR
  API, PutImageScanningConfiguration). It is one per account and region, so `imageScanning: unmanaged` leaves it to
  whoever owns it (e.g. an Inspector delegated administrator); `enhanced` switches to Inspector's continuous scans.
  With `enhanced`, set Inspector's ECR re-scan duration to match how long an image runs (Inspector console, or
  `aws inspector2 update-configuration --ecr-configuration rescanDuration=LIFETIME`): "The default scan duration for
  new accounts ... is 14 days", after which Inspector stops monitoring an image not pushed or used since and closes
  its findings, so ops.verify's `ecr.scan-findings` would pass a long-running prod image unwatched (Inspector user
  guide, "Configuring the Amazon ECR re-scan duration"; an account setting, not a resource of this program).
* has a lifecycle that never expires an image a stack runs. ECR cannot know what runs, so every deploy tags the
  images it runs `deployed-<environment>-<run>` (ops/tag_deployed_images.py, from ops/release.sh),
  and the first rules of the policy select those tags: "An image that matches the tagging requirements of a higher
  priority rule cannot be expired by a rule with a lower priority" (ECR lifecycle policy evaluation rules,
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html), so the
  catch-all rules after them never expire a deployed image. Those first rules keep the newest
  `deployedImageRetainCount` images deployed to each environment — with the default 1000, years of releases. Then
  untagged images go after `untaggedImageDays` (aborted or superseded pushes; build single-platform images with
  `--provenance=false` so no untagged child manifest belongs to a tagged index), and the last rule keeps the newest
  `imageRetainCount` images of the repository, counting deployed ones too: ECR applies its count to every image it
  selects, by push time ("Rules can never mark images that are marked by higher priority rules, but can still
  identify them as if they haven't been expired", same page, lifecycle policy evaluation rules). So an image nobody
  deployed (a CI build) stays only while it is among the newest `imageRetainCount` images of its repository: once
  that many newer images exist, deployed or not, it expires (with the default 100, a build followed
  by 100 deployed images expires too).

In the Organizations layout the environment accounts pull across accounts: each repository's policy grants the
read actions (and DescribeImages, which `pulumi preview` calls to look an image up) to each environment account's
root, narrowed to the roles of that environment (components/cross_account.py), and lets the deploy role add its
`deployed-*` tags. The DR region's replicas carry the same grants (a DR stack in an environment account pulls from the
replica in its own region), without push: images arrive there by replication only. Those replicas are repositories of
this component in the DR region, kept in step with the source's grants and lifecycle on every update (a repository
creation template applies to new repositories only; it stays as the fallback for any other `maratron/*` one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import RETAIN, AwsContext, RemovalPolicy, named_tags, policy_json, retains
from components.constants import DEPLOYED_TAG_PREFIX, IMAGE_SERVICES, PROJECT
from components.cross_account import grant
from components.disaster_recovery import DR_OFF, DR_PAIRED, DR_REGION_PAIRS, check_dr_region
from components.encryption import customer_managed_key
from components.settings import require_valid, setting

ScanMode = Literal["basic", "enhanced", "unmanaged"]
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
PUSH_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                "ecr:DescribeImages", "ecr:DescribeRepositories")
"""Docker/buildx push (with cache pulls); DescribeImages lets CI print the digest it pushed, DescribeRepositories
look its repository's URI up (.github/workflows/images.yml)."""
DOCKER_PUSH_ACTIONS = tuple(action for action in PUSH_ACTIONS if action != "ecr:DescribeRepositories")
"""A push from `pulumi up` (a deploy role building the backup image): the workflow's URI look-up is not part of it
(the deploy role reads repositories through DESCRIBE_ACTIONS, as every preview's image look-up does)."""
DESCRIBE_ACTIONS = ("ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:DescribeImageScanFindings")
"""Read an image's details and its scan findings: previews look images up, ops.verify reads the findings. The
provider's aws_ecr_image data source (`aws.ecr.get_image`) calls DescribeImages, then DescribeRepositories for the
repository URI of its `image_uri` (terraform-provider-aws internal/service/ecr/image_data_source.go): without it every
preview and `up` failed the image look-up (Z29)."""
TAG_ACTIONS = ("ecr:BatchGetImage", "ecr:PutImage", "ecr:DescribeImages")
"""Add a tag to an image already pushed: read its manifest, put it again under the new tag. Without the layer-upload
actions nothing new can be pushed; immutable tags keep every existing tag where it is."""


def repository_name(service: str) -> str:
    """maratron/web, maratron/ai, maratron/backup."""
    return f"{PROJECT}/{service}"


def deployed_tag(environment: str, run: str) -> str:
    """The tag a deploy puts on an image before running it (kept by the lifecycle's first rules)."""
    return f"{DEPLOYED_TAG_PREFIX}{environment}-{run}"


@dataclass(frozen=True, kw_only=True)
class RegistrySettings:
    """Scanning and lifecycle of the image repositories."""

    scanning: ScanMode = setting(
        "imageScanning", "basic", "Registry scanning: basic (CVE scan on push, no charge), enhanced (Amazon "
        "Inspector, continuous, billed per image) or unmanaged (leave the account's registry scanning configuration "
        "to its owner, e.g. an Inspector delegated administrator).")
    deployed_retain_count: int = setting(
        "deployedImageRetainCount", 1000, "Per environment, the newest N images a deploy tagged deployed-<env>-* "
        "that the lifecycle keeps (1-10000); no other rule may expire them.", minimum=1, maximum=10000)
    untagged_days: int = setting(
        "untaggedImageDays", 14, "Days after which an untagged image expires (1-365).", minimum=1, maximum=365)
    retain_count: int = setting(
        "imageRetainCount", 100, "An image no deploy tagged stays while it is among the newest N images of its "
        "repository (1-1000), deployed images included: they count toward N (ECR counts every image a rule selects; "
        "no rule expires a deployed one). Older CI builds expire.", minimum=1, maximum=1000)
    dr_region: str = setting(
        "drRegion", DR_PAIRED, "Region the registry replicates every maratron/* image to (ECR registry replication), "
        "where a DR app stack (Pulumi.dr.yaml) pulls the same digests: paired (default; the foundation region's "
        "partner, as the app's drRegion), a region name, or none. The deploy roles of drEnvironments may act there.",
        check=check_dr_region)

    def replica_region(self, region: str) -> str | None:
        """The region images replicate to from a registry in `region` (None: off, or no partner for `region`)."""
        if self.dr_region == DR_OFF:
            return None
        resolved = DR_REGION_PAIRS.get(region) if self.dr_region == DR_PAIRED else self.dr_region
        return None if resolved == region else resolved


def lifecycle_policy(settings: RegistrySettings, environments: Sequence[str]) -> dict[str, Any]:
    """The repository lifecycle (see the module docstring): deployed images first, then untagged, then the rest."""
    rules: list[dict[str, Any]] = []
    for priority, environment in enumerate(sorted(environments, key=_prod_first), start=1):
        rules.append({
            "rulePriority": priority,
            "description": f"Keep images deployed to {environment} (no later rule can expire them)",
            "selection": {"tagStatus": "tagged", "tagPatternList": [f"{DEPLOYED_TAG_PREFIX}{environment}-*"],
                          "countType": "imageCountMoreThan", "countNumber": settings.deployed_retain_count},
            "action": {"type": "expire"}})
    rules.append({
        "rulePriority": 90, "description": f"Expire untagged images after {settings.untagged_days} days",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                      "countNumber": settings.untagged_days},
        "action": {"type": "expire"}})
    rules.append({
        "rulePriority": 100, "description": f"Keep the newest {settings.retain_count} images (deployed ones count)",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": settings.retain_count},
        "action": {"type": "expire"}})
    return {"rules": rules}


def _prod_first(environment: str) -> tuple[int, str]:
    order = {"prod": 0, "staging": 1, "dev": 2}
    return (order.get(environment, 3), environment)


@dataclass(frozen=True)
class RegistryReader:
    """An environment account reading the repositories across accounts (Organizations layout)."""

    account_root: str
    principal_arns: tuple[str, ...]
    """Its workload roles (pattern) and CI roles: pull + DescribeImages."""
    taggers: tuple[str, ...] = ()
    """Its deploy role: may add deployed-* tags."""
    pushers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(role ARN, services) that may push, e.g. a deploy role building the backup image; default none."""


@dataclass(frozen=True)
class ImageRegistryArgs:
    """Inputs of ImageRegistry."""

    context: AwsContext
    """The account and region of the registry."""
    environments: tuple[str, ...]
    """Environments that deploy from it (one keep-rule each in the lifecycle)."""
    settings: RegistrySettings = field(default_factory=RegistrySettings)
    """Scanning and lifecycle; default basic scanning, 1000 deployed images per environment, 100 others."""
    readers: Sequence[RegistryReader] = ()
    """Other accounts that pull; default none (one account: IAM policies suffice)."""
    organization_id: str = ""
    """With readers: the AWS Organizations id they must belong to; default none."""
    services: tuple[str, ...] = IMAGE_SERVICES
    """One repository each; default web, ai, backup."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): repositories are protected and never force-deleted with their images."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)


class ImageRegistry(pulumi.ComponentResource):
    """Scanned, immutable, KMS-encrypted repositories with a lifecycle that keeps every deployed image."""

    key: aws.kms.Key
    repositories: dict[str, aws.ecr.Repository]
    replica_repositories: dict[str, aws.ecr.Repository]
    """The DR region's repositories of the same names, which registry replication writes into (none without one)."""

    def __init__(self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:foundation:ImageRegistry", name, None, opts)
        self._args = args
        ctx = args.context
        retain = retains(args.removal_policy)
        self.key = customer_managed_key(
            f"{name}-key", context=ctx, alias=f"{PROJECT}-images", description=f"{PROJECT}: ECR container images",
            removal_policy=args.removal_policy, tags=args.tags, parent=self)
        self._scanning(f"{name}-scanning")
        policy = json.dumps(lifecycle_policy(args.settings, args.environments))
        self.replica_regions = self._replication(name, policy)
        for region in self.replica_regions:
            # "The private registry settings are configured separately for each Region" (ECR user guide, private
            # registry settings): without its own, the DR region scans nothing and ops.verify's ecr.scan-findings
            # passes images there as "not scanned".
            self._scanning(f"{name}-scanning-{region}", region=region)
        self.repositories = {}
        for service in args.services:
            repository = aws.ecr.Repository(
                f"{name}-{service}",
                name=repository_name(service),
                image_tag_mutability="IMMUTABLE",  # a tag always names the same image (CKV_AWS_51)
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=self.key.arn)],
                force_delete=not retain,
                tags=named_tags(args.tags, repository_name(service)),
                opts=pulumi.ResourceOptions(parent=self, protect=retain),
            )
            aws.ecr.LifecyclePolicy(f"{name}-{service}", repository=repository.name, policy=policy,
                                    opts=pulumi.ResourceOptions(parent=repository))
            if args.readers:
                aws.ecr.RepositoryPolicy(f"{name}-{service}", repository=repository.name,
                                         policy=policy_json(self._reader_statements(service)),
                                         opts=pulumi.ResourceOptions(parent=repository))
            self.repositories[service] = repository
        self.register_outputs({"repositoryUrls": {s: r.repository_url for s, r in self.repositories.items()}})

    def _scanning(self, name: str, *, region: str | None = None) -> None:
        """The registry's scanning configuration (in `region`, default the provider's), unless `unmanaged`."""
        scanning = self._args.settings.scanning
        if scanning == "unmanaged":
            return
        enhanced = scanning == "enhanced"
        aws.ecr.RegistryScanningConfiguration(
            name,
            region=region,
            scan_type="ENHANCED" if enhanced else "BASIC",
            rules=[aws.ecr.RegistryScanningConfigurationRuleArgs(
                scan_frequency="CONTINUOUS_SCAN" if enhanced else "SCAN_ON_PUSH",
                repository_filters=[aws.ecr.RegistryScanningConfigurationRuleRepositoryFilterArgs(
                    filter=f"{PROJECT}/*", filter_type="WILDCARD")])],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _replication(self, name: str, lifecycle: str) -> list[str]:
        """Registry replication of every `maratron/*` image to the DR region (the DR stack pulls the same digests
        there: docs/runbooks/disaster-recovery.md, section E). One configuration per registry: "creates or updates
        the replication configuration for a private registry" (AWS::ECR::ReplicationConfiguration), so the foundation,
        which owns the registry, is its one owner.

        The DR region's repositories of our services are this component's own (`replica_repositories`): immutable
        tags, the same lifecycle as the source, and in the Organizations layout the environments' pull and tag grants,
        kept up to date on every `pulumi up`. Replication writes into an existing repository of the same name. A
        repository creation template ("applied_for REPLICATION") alone would not do: "Once the repository creation
        template is created, all new repositories created will have the settings applied. This doesn't have any
        effect on any previously created repositories" (ECR user guide, "Creating a repository creation template"),
        so a later grant (a new environment account) or revocation, or a lifecycle change, would never reach the
        replicas; and a push replicated before the template existed gets ECR's defaults (mutable tags, no lifecycle).
        The template stays, with the same settings, for `maratron/*` repositories this component does not manage
        (managing its repositoryPolicy needs ecr:SetRepositoryPolicy besides the template actions: same page), and
        the replication configuration waits for the template and the replicas. Encryption there is AES-256 (ECR's
        default): a CMK in a creation template needs a custom creation role with kms:CreateGrant (ECR user guide,
        repository creation templates), and a key of the foundation's in the DR region is left for later (the images
        are not secret; the source stays CMK-encrypted)."""
        ctx = self._args.context
        region = self._args.settings.replica_region(ctx.region)
        self.replica_repositories = {}
        if region is None:
            return []
        retain = retains(self._args.removal_policy)
        readers = policy_json(self._reader_statements(None)) if self._args.readers else None
        template = aws.ecr.RepositoryCreationTemplate(
            f"{name}-replica-template", prefix=PROJECT, applied_fors=["REPLICATION"], region=region,
            description=f"{PROJECT}/* repositories that registry replication creates in {region}",
            image_tag_mutability="IMMUTABLE", lifecycle_policy=lifecycle,
            repository_policy=readers,
            encryption_configurations=[aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                encryption_type="AES256")],
            opts=pulumi.ResourceOptions(parent=self))
        replicas: list[pulumi.Resource] = [template]
        for service in self._args.services:
            replica = aws.ecr.Repository(
                f"{name}-{service}-{region}",
                region=region,
                name=repository_name(service),  # replication writes into the repository of the source's name
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
                force_delete=not retain,
                tags=named_tags(self._args.tags, repository_name(service)),
                opts=pulumi.ResourceOptions(parent=self, protect=retain),
            )
            replicas.append(aws.ecr.LifecyclePolicy(
                f"{name}-{service}-{region}", region=region, repository=replica.name, policy=lifecycle,
                opts=pulumi.ResourceOptions(parent=replica)))
            if readers is not None:
                replicas.append(aws.ecr.RepositoryPolicy(
                    f"{name}-{service}-{region}", region=region, repository=replica.name, policy=readers,
                    opts=pulumi.ResourceOptions(parent=replica)))
            replicas.append(replica)
            self.replica_repositories[service] = replica
        aws.ecr.ReplicationConfiguration(
            f"{name}-replication",
            replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(rules=[
                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                    destinations=[aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                        region=region, registry_id=ctx.account_id)],
                    repository_filters=[
                        aws.ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs(
                            filter=f"{PROJECT}/", filter_type="PREFIX_MATCH")])]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=replicas))
        return [region]

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def registry_id(self) -> str:
        return self._args.context.account_id

    def arns(self) -> dict[str, pulumi.Output[str]]:
        return {service: repository.arn for service, repository in self.repositories.items()}

    def urls(self) -> dict[str, pulumi.Output[str]]:
        return {service: repository.repository_url for service, repository in self.repositories.items()}

    def names(self) -> dict[str, str]:
        return {service: repository_name(service) for service in self.repositories}

    # --- cross-account (Organizations layout) -------------------------------------------------------------------

    def _reader_statements(self, service: str | None) -> list[dict[str, Any]]:
        """The environments' grants on one service's repository; service None: on the DR region's replicas (pull and
        tag, no push)."""
        statements: list[dict[str, Any]] = []
        org = self._args.organization_id
        for index, reader in enumerate(self._args.readers):
            statements.append(grant({"Effect": "Allow", "Action": [*PULL_ACTIONS, *DESCRIBE_ACTIONS]},
                                    account_root=reader.account_root, principal_arns=reader.principal_arns,
                                    organization_id=org, sid=f"Pull{index}"))
            if reader.taggers:
                statements.append(grant({"Effect": "Allow", "Action": list(TAG_ACTIONS)},
                                        account_root=reader.account_root, principal_arns=reader.taggers,
                                        organization_id=org, sid=f"TagDeployed{index}"))
            pushers = [role for role, services in reader.pushers if service is not None and service in services]
            if pushers:
                statements.append(grant({"Effect": "Allow", "Action": list(PUSH_ACTIONS)},
                                        account_root=reader.account_root, principal_arns=pushers,
                                        organization_id=org, sid=f"Push{index}"))
        return statements


def push_statements(repository_arns: Mapping[str, pulumi.Input[str]], services: Sequence[str],
                    actions: Sequence[str] = PUSH_ACTIONS) -> list[dict[str, Any]]:
    """Push (and nothing else) to the given services' repositories."""
    return [
        # The registry login token is account-wide: "users [need] permission to make calls to the
        # ecr:GetAuthorizationToken API through an IAM policy before they can authenticate to a registry" (ECR user
        # guide, repository policy examples); the action has no resource to scope it to.
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
        {"Sid": "PushImages", "Effect": "Allow", "Action": list(actions),
         "Resource": [repository_arns[service] for service in services]},
    ]


def describe_statements(repository_arns: Mapping[str, pulumi.Input[str]]) -> list[dict[str, Any]]:
    """Look images up (what `pulumi preview` does with aws.ecr.get_image) and read their scan findings
    (ops.verify's ecr.scan-findings)."""
    return [{"Sid": "LookUpImages", "Effect": "Allow", "Action": list(DESCRIBE_ACTIONS),
             "Resource": list(repository_arns.values())}]


def tag_statements(repository_arns: Mapping[str, pulumi.Input[str]], *,
                   also_describe: bool = False) -> list[dict[str, Any]]:
    """Tag deployed images (ops/release.sh, right after `pulumi up`); `also_describe`: in the same statement, what
    describe_statements grants (a deploy role both looks images up and tags them: naming the repositories once keeps
    it under IAM's 10,240 characters of inline policy)."""
    actions = sorted({*TAG_ACTIONS, *DESCRIBE_ACTIONS}) if also_describe else list(TAG_ACTIONS)
    return [
        {"Sid": "RegistryLoginForTags", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
        {"Sid": "LookUpAndTagImages" if also_describe else "TagDeployedImages", "Effect": "Allow", "Action": actions,
         "Resource": list(repository_arns.values())},
    ]
