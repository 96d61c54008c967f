"""The app stack's side of the account foundation: read the bootstrap stack, check it, find the images to run, and
keep every resource of the stack inside what the foundation allows.

`Foundation(...)` does four things, in this order, before any AWS resource of the stack registers:

1. reads the bootstrap stack with a StackReference (`maratron:bootstrapStack`, default
   `organization/maratron-bootstrap/shared`: non-legacy DIY backends name stacks `organization/<project>/<stack>`,
   Pulumi Automation API reference) and checks its outputs against the foundation contract
   (bootstrap/bootstrap_outputs.py): major version, every output and its type, this environment's account, role
   path and boundary, the region; and that the credentials are those of the account the foundation places this
   environment in. Any problem is one line naming the key (a `pulumi.RunError`: printed without a traceback).
2. looks every configured image up in its repository with `aws.ecr.get_image` — keyword arguments only: the first
   positional parameter is `image_digest` (https://github.com/pulumi/pulumi-aws/issues/2466 is exactly that
   mistake) — so a digest that was never pushed fails `pulumi preview` ("ImageNotFoundException: The image with
   imageId ... does not exist within the repository",
   https://github.com/hashicorp/terraform-provider-aws/issues/35268), not a deployment whose tasks cannot pull. Tags
   resolve
   to digests: a task definition always names bytes.
3. creates the stack's AWS provider with `allowed_account_ids` = that account, gated on 1 and 2: every AWS resource
   of the stack uses it, so none registers before the foundation and the images check out, and credentials for
   another account are refused by the provider itself.
4. registers one stack transformation (SDK-side, so the mock engine runs it too) that gives every AWS resource that
   provider and every IAM role the environment's path (`/maratron/<env>/`) and permissions boundary: the deploy role
   may create roles only there and only with that boundary (components/ci_roles.py). One place, not every component.

The stack creates no image repository: they belong to the foundation, shared by every environment. A service's
image may still be built by `pulumi up` (`<service>BuildContext`, pulumi-docker), pushed into the foundation's
repository — which needs push rights the deploy roles have only with the foundation's `deployPushesBackupImage`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap.bootstrap_outputs import FOUNDATION
from components.base import AwsContext
from components.constants import BOOTSTRAP_PROJECT, IMAGE_SERVICES, PROJECT
from components.images import BuiltImage, ImageNotFoundError, ImageSource, Repository, find_image
from components.settings import section, setting
from components.state_backend import DIY_ORGANIZATION

STACK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _check_stack(value: str) -> str | None:
    return None if STACK_NAME_PATTERN.match(value) else \
        f"must be a fully qualified stack name, e.g. {DIY_ORGANIZATION}/{BOOTSTRAP_PROJECT}/shared"


@dataclass(frozen=True, kw_only=True)
class FoundationSettings:
    """Where the foundation is, and the backup job's image (web and ai are in the app section)."""

    stack: str = setting(
        "bootstrapStack", f"{DIY_ORGANIZATION}/{BOOTSTRAP_PROJECT}/shared", "The bootstrap stack whose outputs "
        "this stack reads (state, image repositories, its account, role path and boundary), in the same backend.",
        check=_check_stack)
    backup_image: ImageSource = section(ImageSource, prefix="backup", title="Backup job")


class FoundationError(pulumi.RunError):
    """The foundation or an image cannot be used: what is wrong, naming the config key (no traceback)."""


@dataclass(frozen=True)
class Contract:
    """The bootstrap stack's outputs, checked, as this environment needs them."""

    account_id: str
    region: str
    registry_id: str
    repositories: dict[str, Repository]
    workload_boundary_arn: str
    workload_role_path: str
    app_ci_role_arn: str
    infra_ci_role_arn: str


@dataclass(frozen=True)
class Resolved:
    contract: Contract
    images: dict[str, str]
    """Service -> the URI a task definition runs (<repository url>@sha256:...); built images are not here."""


class Foundation:
    """The bootstrap stack as this app stack uses it (see the module docstring)."""

    def __init__(self, settings: FoundationSettings, *, environment: str, context: AwsContext,
                 images: Mapping[str, ImageSource], keys: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._environment = environment
        self._context = context
        self._images = dict(images)
        self._keys = dict(keys or {service: f"{service}Image" for service in images})
        self.reference = pulumi.StackReference("foundation", stack_name=settings.stack)
        self.resolved: pulumi.Output[Resolved] = self.reference.outputs.apply(self._check).apply(self._resolve)
        # Every role gets the same two Outputs (one apply each, not two per role: ~45 roles in prod).
        self._role_path = self.resolved.apply(lambda r: r.contract.workload_role_path)
        self._role_boundary = self.resolved.apply(lambda r: r.contract.workload_boundary_arn)
        self.provider = aws.Provider(
            "app", region=context.region,
            # An explicit provider reads no `aws:` stack config: pass on the profile a human may have set there.
            profile=pulumi.Config("aws").get("profile"),
            allowed_account_ids=self.resolved.apply(lambda r: [r.contract.account_id]))
        pulumi.runtime.register_stack_transformation(self._guard)
        self._built: dict[str, BuiltImage] = {}

    # --- what the stack uses ------------------------------------------------------------------------------------

    def repository(self, service: str) -> pulumi.Output[Repository]:
        return self.resolved.apply(lambda r: r.contract.repositories[service])

    @property
    def registry_id(self) -> pulumi.Output[str]:
        """Account id of the registry the repositories are in (the shared account in the organization layout)."""
        return self.resolved.apply(lambda r: r.contract.registry_id)

    def repository_arn(self, service: str) -> pulumi.Output[str]:
        return self.resolved.apply(lambda r: r.contract.repositories[service].arn)

    def repository_url(self, service: str) -> pulumi.Output[str]:
        return self.resolved.apply(lambda r: r.contract.repositories[service].url)

    def image_uri(self, service: str) -> pulumi.Output[str]:
        """What the service's task definition runs: the looked-up digest, or the digest of the image `pulumi up`
        builds and pushes (a build context)."""
        source = self._images[service]
        if source.build_context:
            if service not in self._built:
                self._built[service] = BuiltImage(service, context=Path.cwd() / source.build_context,
                                                  repository=self.repository(service))
            return self._built[service].uri
        return self.resolved.apply(lambda r: r.images[service])

    # --- 1. the contract ----------------------------------------------------------------------------------------

    def _check(self, outputs: Mapping[str, Any]) -> Contract:
        env = self._environment
        if not outputs:
            self._fail(["the stack has no outputs: apply the bootstrap stack first (docs/runbooks/first-deploy.md)"])
        problems = FOUNDATION.check(outputs)
        if problems:
            self._fail(problems)
        for output in ("accounts", "workloadBoundaryArns", "workloadRolePaths", "deployRoleArns"):
            if env not in outputs[output]:
                problems.append(f"output {output} has no {env} (the foundation's environments: "
                                f"{', '.join(sorted(outputs['deployRoleArns']))})")
        missing = [s for s in IMAGE_SERVICES if s not in outputs["repositoryNames"] or s not in outputs[
            "repositoryUrls"] or s not in outputs["repositoryArns"]]
        if missing:
            problems.append(f"output repositoryNames/Urls/Arns lacks {missing}")
        region = self._context.region
        replica = region != outputs["region"] and region in outputs["replicaRegions"]
        if region != outputs["region"] and not replica:
            problems.append(f"its region is {outputs['region']} (registry replicas: "
                            f"{', '.join(outputs['replicaRegions']) or 'none'}), this stack's aws:region {region} "
                            "(tasks pull from the foundation's registry, or its replica, in their own region)")
        if not problems and outputs["accounts"][env] != self._context.account_id:
            problems.append(f"it places {env} in account {outputs['accounts'][env]}, but the credentials are for "
                            f"account {self._context.account_id} (assume the {env} deploy role: "
                            f"{outputs['deployRoleArns'][env]})")
        if problems:
            self._fail(problems)
        # A DR stack in the registry's replica region pulls the same names and digests from the replica there.
        def here(value: str) -> str:
            return value.replace(f".{outputs['region']}.", f".{region}.").replace(
                f":{outputs['region']}:", f":{region}:") if replica else value

        return Contract(
            account_id=outputs["accounts"][env], region=region, registry_id=outputs["registryId"],
            repositories={s: Repository(name=outputs["repositoryNames"][s], url=here(outputs["repositoryUrls"][s]),
                                        arn=here(outputs["repositoryArns"][s]), registry_id=outputs["registryId"])
                          for s in IMAGE_SERVICES},
            workload_boundary_arn=outputs["workloadBoundaryArns"][env],
            workload_role_path=outputs["workloadRolePaths"][env],
            app_ci_role_arn=outputs["appCiRoleArn"], infra_ci_role_arn=outputs["infraCiRoleArn"])

    def _fail(self, problems: list[str]) -> None:
        raise FoundationError(f"{PROJECT}:bootstrapStack = {self._settings.stack!r}: " + "; ".join(problems))

    # --- 2. the images ------------------------------------------------------------------------------------------

    def _resolve(self, contract: Contract) -> Resolved:
        uris: dict[str, str] = {}
        problems: list[str] = []
        for service, source in self._images.items():
            if source.build_context:
                continue
            repository = contract.repositories[service]
            try:
                uris[service] = find_image(repository, source.reference)
            except ImageNotFoundError as error:
                pusher = contract.infra_ci_role_arn if service == "backup" else contract.app_ci_role_arn
                problems.append(f"{PROJECT}:{self._keys[service]} = {source.reference!r}: {error}; push it (role "
                                f"{pusher}) or set the digest that was pushed")
        if problems:
            raise FoundationError("\n".join(problems))
        return Resolved(contract=contract, images=uris)

    # --- 4. one transformation for the whole stack -------------------------------------------------------------

    def _guard(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not isinstance(args.resource, pulumi.CustomResource) or not args.type_.startswith("aws:"):
            return None
        props = dict(args.props)
        opts = args.opts
        if opts.provider is None:
            # A shallow copy with the provider set: what ResourceOptions.merge(opts, ResourceOptions(provider=...))
            # yields for a single scalar, without re-merging every list option of every resource (~1% of a run).
            opts = copy.copy(opts)
            opts.provider = self.provider
        if args.type_ == "aws:iam/role:Role":
            props["path"] = self._role_path
            props["permissions_boundary"] = self._role_boundary
        return pulumi.ResourceTransformationResult(props, opts)
