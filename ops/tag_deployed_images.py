"""Tag the images a deploy runs `deployed-<environment>-<run>`, so the repositories' lifecycle never expires them.

    pulumi stack output --json --show-secrets=false > outputs.json
    python -m ops.tag_deployed_images --stack-outputs outputs.json --run "$GITHUB_RUN_ID"

ECR does not know which image a stack runs; the foundation's lifecycle (components/image_registry.py) keeps every
image tagged `deployed-<env>-*` because rules that select a tag come first and "an image that matches the tagging
requirements of a higher priority rule cannot be expired by a rule with a lower priority" (ECR lifecycle policy
evaluation rules). This adds that tag to each image the stack's outputs name (`webImage`, `aiImage`, `backupImage`:
`<registry>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:...`), by reading the image's manifest and putting it
again under the new tag (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-retag.html: BatchGetImage, then
PutImage with the same manifest).
Tags are immutable, so each run adds its own; a rerun of the same run is a no-op.

The deploy role may do exactly this on the foundation's repositories (components/ci_roles.py). Exit status: 0 all
tagged, 1 a tag could not be added, 2 the outputs are unusable.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from components.constants import DEPLOYED_TAG_PREFIX

IMAGE_OUTPUTS = ("webImage", "aiImage", "backupImage")
IMAGE_URI = re.compile(r"^(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                       r"(?P<repository>[a-z0-9][a-z0-9._/-]*)@(?P<digest>sha256:[0-9a-f]{64})$")


@dataclass(frozen=True)
class Image:
    output: str
    registry: str
    region: str
    repository: str
    digest: str


def images_of(outputs: Mapping[str, Any]) -> list[Image]:
    """The images the stack runs, from its outputs; ValueError naming the output when one is not a digest URI."""
    found = []
    for key in IMAGE_OUTPUTS:
        value = outputs.get(key)
        if value is None:
            continue
        match = IMAGE_URI.match(str(value))
        if match is None:
            raise ValueError(f"stack output {key} = {value!r} is not <registry>.dkr.ecr.<region>.amazonaws.com/"
                             "<repository>@sha256:<digest>")
        found.append(Image(key, match["registry"], match["region"], match["repository"], match["digest"]))
    if not found:
        raise ValueError(f"no image output ({', '.join(IMAGE_OUTPUTS)}): not a Maratron stack's outputs")
    return found


def tag(ecr: Any, image: Image, tag_name: str) -> str:
    """Add `tag_name` to the image; returns what happened (added / already there). Raises ClientError
    (ImageNotFoundException) when the image is missing, LookupError when the tag already names another image (the
    repositories' tags are immutable)."""
    ident = {"registryId": image.registry, "repositoryName": image.repository}
    # BatchGetImage by digest answers with the digest alone (no tag), so the image's tags come from DescribeImages.
    described = ecr.describe_images(**ident, imageIds=[{"imageDigest": image.digest}])["imageDetails"]
    if any(tag_name in detail.get("imageTags", []) for detail in described):
        return "already tagged"
    got = ecr.batch_get_image(**ident, imageIds=[{"imageDigest": image.digest}],
                              acceptedMediaTypes=["application/vnd.docker.distribution.manifest.v2+json",
                                                  "application/vnd.oci.image.manifest.v1+json",
                                                  "application/vnd.oci.image.index.v1+json",
                                                  "application/vnd.docker.distribution.manifest.list.v2+json"])
    if not got.get("images"):
        reasons = "; ".join(f.get("failureReason", "?") for f in got.get("failures", []))
        raise LookupError(f"{image.repository}@{image.digest} not found ({reasons or 'no image'})")
    found = got["images"][0]
    request = {**ident, "imageManifest": found["imageManifest"], "imageTag": tag_name,
               "imageDigest": image.digest}
    if found.get("imageManifestMediaType"):
        request["imageManifestMediaType"] = found["imageManifestMediaType"]
    try:
        ecr.put_image(**request)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "ImageAlreadyExistsException":  # this image already has this tag (a concurrent rerun)
            return "already tagged"
        if code == "ImageTagAlreadyExistsException":  # immutable tags: the name is taken by *another* image
            raise LookupError(f"the tag {tag_name} already names another image in {image.repository} (tags are "
                              "immutable): this image is not protected from the lifecycle; tag it with another "
                              "--run") from None
        raise
    return "tagged"


def deployed_tag(environment: str, run: str) -> str:
    run = re.sub(r"[^A-Za-z0-9_.-]", "-", run)
    return f"{DEPLOYED_TAG_PREFIX}{environment}-{run}"[:128]


def main(argv: Sequence[str] | None = None, ecr: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.tag_deployed_images", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-outputs", required=True, metavar="FILE", help="`pulumi stack output --json`")
    parser.add_argument("--run", required=True, help="what makes the tag unique: the CI run id")
    parser.add_argument("--endpoint-url", help="send the ECR calls here (a local moto server in the tests)")
    args = parser.parse_args(argv)
    try:
        with open(args.stack_outputs, encoding="utf-8") as handle:
            outputs = json.load(handle)
        environment = str(outputs["environment"])
        images = images_of(outputs)
    except (OSError, ValueError, KeyError) as error:
        print(f"tag_deployed_images: {error}", file=sys.stderr)
        return 2
    name = deployed_tag(environment, args.run)
    status = 0
    for image in images:
        client = ecr or boto3.client("ecr", region_name=image.region, endpoint_url=args.endpoint_url,
                                     config=Config(retries={"max_attempts": 3}))
        try:
            print(f"{image.output}: {image.repository}@{image.digest[:19]}... {tag(client, image, name)} {name}")
        except (ClientError, BotoCoreError, LookupError) as error:
            print(f"{image.output}: could not tag {image.repository}@{image.digest}: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
