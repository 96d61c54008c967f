"""ops.tag_deployed_images against moto: each image the stack runs gets its deployed-<env>-<run> tag, once, and
ops.verify's ecr.deployed-images check sees it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops import tag_deployed_images, verify
from tests.ops.conftest import REGION

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                                  "digest": "sha256:" + "c" * 64}, "layers": []})


@pytest.fixture(scope="module")
def pushed(moto_endpoint: str) -> dict[str, Any]:
    """web, ai and backup pushed the way app CI does (tag sha-<commit>), and the outputs of a stack running them."""
    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=moto_endpoint)
    outputs: dict[str, Any] = {"environment": "prod", "region": REGION}
    for service in ("web", "ai", "backup"):
        repository = ecr.create_repository(repositoryName=f"maratron/{service}",
                                           imageTagMutability="IMMUTABLE")["repository"]
        manifest = MANIFEST.replace("c" * 64, (service[0] * 64)[:64])
        image = ecr.put_image(repositoryName=f"maratron/{service}", imageManifest=manifest,
                              imageTag=f"sha-{service}")["image"]
        outputs[f"{service}Image"] = f"{repository['repositoryUri']}@{image['imageId']['imageDigest']}"
    return {"ecr": ecr, "outputs": outputs, "endpoint": moto_endpoint}


def write(tmp_path: Path, outputs: dict[str, Any]) -> str:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return str(path)


def tags(ecr: Any, uri: str) -> list[str]:
    repository, digest = uri.split("/", 1)[1].split("@")
    (detail,) = ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])["imageDetails"]
    return sorted(detail.get("imageTags", []))


def test_every_running_image_gets_its_deployed_tag_once(pushed: dict[str, Any], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, pushed["outputs"])
    argv = ["--stack-outputs", path, "--run", "4711", "--endpoint-url", pushed["endpoint"]]
    assert tag_deployed_images.main(argv) == 0
    for service in ("web", "ai", "backup"):
        assert tags(pushed["ecr"], pushed["outputs"][f"{service}Image"]) == ["deployed-prod-4711", f"sha-{service}"]
    assert tag_deployed_images.main(argv) == 0  # a rerun of the same run changes nothing
    assert "already tagged" in capsys.readouterr().out
    assert tags(pushed["ecr"], pushed["outputs"]["webImage"]) == ["deployed-prod-4711", "sha-web"]


def test_verify_sees_the_tag_and_flags_an_untagged_image(pushed: dict[str, Any], tmp_path: Path) -> None:
    clients = verify.Clients(boto3.session.Session(region_name=REGION), pushed["endpoint"])
    ctx = verify.Context(verify.Outputs(pushed["outputs"]), clients)
    tag_deployed_images.main(["--stack-outputs", write(tmp_path, pushed["outputs"]), "--run", "1",
                              "--endpoint-url", pushed["endpoint"]])
    assert verify.check_deployed_images(ctx).status is verify.Status.PASS
    staging = verify.Context(verify.Outputs({**pushed["outputs"], "environment": "staging"}), clients)
    verdict = verify.check_deployed_images(staging)
    assert verdict.status is verify.Status.FAIL and "has no deployed-staging-* tag" in verdict.detail


def test_an_image_that_is_not_there_fails_and_bad_outputs_are_refused(pushed: dict[str, Any], tmp_path: Path) -> None:
    missing = {**pushed["outputs"], "aiImage": pushed["outputs"]["aiImage"].split("@")[0] + "@sha256:" + "0" * 64}
    assert tag_deployed_images.main(["--stack-outputs", write(tmp_path, missing), "--run", "2",
                                     "--endpoint-url", pushed["endpoint"]]) == 1
    assert tag_deployed_images.main(["--stack-outputs", write(tmp_path, {**pushed["outputs"], "webImage": "nginx"}),
                                     "--run", "2"]) == 2
    assert tag_deployed_images.deployed_tag("prod", "run 7/8") == "deployed-prod-run-7-8"


def test_verify_skips_the_check_without_image_outputs() -> None:
    ctx = verify.Context(verify.Outputs({"environment": "prod"}), verify.Clients(boto3.session.Session(
        region_name=REGION)))
    assert verify.run_check("ecr.deployed-images", verify.check_deployed_images, ctx).status is verify.Status.SKIP



@pytest.mark.parametrize(("code", "status", "said"), [
    ("ImageTagAlreadyExistsException", 1, "already names another image"),
    ("ImageAlreadyExistsException", 0, "already tagged"),
])
def test_a_tag_another_image_already_has_fails_instead_of_passing_as_done(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], code: str, status: int, said: str) -> None:
    """Immutable tags: PutImage answers ImageTagAlreadyExistsException when the name is on another image, which is
    then protected instead of this one: a failure. ImageAlreadyExistsException is this image with this tag (a
    concurrent rerun). Stubbed: moto gives every image the same digest, so it cannot tell the two apart."""
    digest = "sha256:" + "a" * 64
    outputs = {"environment": "prod", "webImage": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/maratron/web@{digest}"}
    ecr = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    ident = {"registryId": "123456789012", "repositoryName": "maratron/web"}
    with Stubber(ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [{"imageDigest": digest, "imageTags": ["sha-web"]}]},
                          {**ident, "imageIds": [{"imageDigest": digest}]})
        stub.add_response("batch_get_image", {"images": [{"imageId": {"imageDigest": digest},
                                                          "imageManifest": MANIFEST}], "failures": []})
        stub.add_client_error("put_image", service_error_code=code, http_status_code=400)
        assert tag_deployed_images.main(["--stack-outputs", write(tmp_path, outputs), "--run", "9"], ecr=ecr) == status
        stub.assert_no_pending_responses()
    captured = capsys.readouterr()
    assert said in (captured.err if status else captured.out)


# --- ecr.scan-findings ------------------------------------------------------------------------------------------------

def _findings_ctx(answers: dict[str, Any]) -> tuple[Any, Any]:
    """ops.verify's context over a stubbed ECR (moto's scans are not ECR's): one answer per image output, a
    findings response or an error code."""
    digest = "sha256:" + "a" * 64
    registry = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
    outputs = {"environment": "prod", **{f"{s}Image": f"{registry}/maratron/{s}@{digest}" for s in answers}}
    ecr = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(ecr)
    for service, answer in answers.items():
        expected = {"registryId": "123456789012", "repositoryName": f"maratron/{service}",
                    "imageId": {"imageDigest": digest}, "maxResults": 1}
        if isinstance(answer, str):
            stub.add_client_error("describe_image_scan_findings", service_error_code=answer, http_status_code=400,
                                  expected_params=expected)
        else:
            stub.add_response("describe_image_scan_findings", answer, expected)
    stub.activate()
    return verify.Context(verify.Outputs(outputs), lambda _service, _region=None: ecr), stub


def scanned(status: str = "COMPLETE", **counts: int) -> dict[str, Any]:
    """A finished basic scan (COMPLETE) or an enhanced one (ACTIVE: Inspector keeps rescanning)."""
    return {"imageScanStatus": {"status": status}, "imageScanFindings": {"findingSeverityCounts": counts}}


def test_a_critical_finding_in_a_running_image_fails_and_the_rest_is_reported() -> None:
    ctx, stub = _findings_ctx({"web": scanned(HIGH=2, LOW=5), "ai": scanned(CRITICAL=1, MEDIUM=3),
                               "backup": scanned("ACTIVE", CRITICAL=2)})
    verdict = verify.check_image_findings(ctx)
    stub.assert_no_pending_responses()
    assert verdict.status is verify.Status.FAIL
    assert "maratron/ai@sha256:aaaaaaaaaaaa...: 1 CRITICAL, 3 MEDIUM" in verdict.detail
    assert "describe-image-scan-findings --repository-name maratron/ai" in verdict.detail
    assert "maratron/web" not in verdict.detail  # HIGH is reported, not blocking (BLOCKING_SEVERITIES)
    assert "maratron/backup@sha256:aaaaaaaaaaaa...: 2 CRITICAL" in verdict.detail  # enhanced scanning is judged too


def test_images_without_a_finished_scan_are_reported_not_failed() -> None:
    ctx, _ = _findings_ctx({"web": scanned(HIGH=1, LOW=2), "ai": "ScanNotFoundException",
                            "backup": {"imageScanStatus": {"status": "UNSUPPORTED_IMAGE"}}})
    verdict = verify.check_image_findings(ctx)
    assert verdict.status is verify.Status.PASS
    assert verdict.detail == ("maratron/web@sha256:aaaaaaaaaaaa...: 1 HIGH, 2 LOW, maratron/ai@sha256:aaaaaaaaaaaa...: "
                              "not scanned, maratron/backup@sha256:aaaaaaaaaaaa...: scan UNSUPPORTED_IMAGE")
    denied, _ = _findings_ctx({"web": "AccessDeniedException"})
    assert verify.run_check("ecr.scan-findings", verify.check_image_findings, denied).status is verify.Status.FAIL
