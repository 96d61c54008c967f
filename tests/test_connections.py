"""The grant API (components/connections.py): one call, both halves, stable names, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.engine import StackRun, run_program

PROGRAM = '''
import pulumi
import pulumi_aws as aws

from components.connections import Connectable, Connections, grant

client = Connections(aws.ec2.SecurityGroup("client-sg", vpc_id="vpc-1"), label="client", name_prefix="t",
                     tags={"project": "t"})
server = Connections(aws.ec2.SecurityGroup("server-sg", vpc_id="vpc-1"), label="server", default_port=9000,
                     traffic="gRPC")
portless = Connections(aws.ec2.SecurityGroup("portless-sg", vpc_id="vpc-1"), label="portless")
result = grant(client, server)
grant(client, portless, 7000)
pulumi.export("connectable", isinstance(client, Connectable))
pulumi.export("ingressName", result.ingress._name)
try:
    grant(server, portless)
except ValueError as error:
    pulumi.export("noPort", str(error))
'''
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StackRun:
    program = Path(tmp_path_factory.mktemp("grant")) / "program.py"
    program.write_text(PROGRAM)
    result = run_program("test", {"aws:region": "us-east-1"}, [], program=program)
    assert result.ok, result.error_details
    return result


def test_one_grant_is_both_halves_with_names_from_the_labels(run: StackRun) -> None:
    sg = {name: run.one("aws:ec2/securityGroup:SecurityGroup", f"{name}-sg") for name in ("client", "server")}
    ingress, egress = run.one(INGRESS, "server-from-client"), run.one(EGRESS, "client-to-server")
    assert (ingress.inputs["securityGroupId"], ingress.inputs["referencedSecurityGroupId"]) == (
        sg["server"].id, sg["client"].id)
    assert (egress.inputs["securityGroupId"], egress.inputs["referencedSecurityGroupId"]) == (
        sg["client"].id, sg["server"].id)
    for rule in (ingress, egress):
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 9000, 9000)
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs)
    assert ingress.parent == sg["server"].urn and egress.parent == sg["client"].urn
    assert ingress.inputs["description"] == "gRPC from client on 9000"
    assert egress.inputs["tags"] == {"project": "t", "Name": "t-client-to-server"}


def test_an_explicit_port_and_a_target_without_a_default(run: StackRun) -> None:
    assert run.one(INGRESS, "portless-from-client").inputs["fromPort"] == 7000
    assert run.outputs["noPort"] == "grant(server -> portless): portless has no default port; pass port="
    assert run.outputs["connectable"] is True and run.outputs["ingressName"] == "server-from-client"


def test_every_component_with_a_security_group_is_connectable() -> None:
    from components.backup_job import BackupJob
    from components.cache import Cache
    from components.connections import Connectable
    from components.database import Database
    from components.load_balancer import LoadBalancer
    from components.service import FargateService
    from components.task import FargateTask

    for component in (BackupJob, Cache, Database, FargateService, FargateTask, LoadBalancer):
        assert isinstance(getattr(component, "connections", None), property), component
        assert "connections" in dir(Connectable)


@pytest.mark.parametrize(("constructor", "maker"), [
    ("SecurityGroupIngressRule", "components/connections.py"),
    ("SecurityGroupEgressRule", "components/connections.py"),
    ("SecurityGroupRule", "components/connections.py"),
    ("Bucket", "components/secure_bucket.py"),
    ("BucketV2", "components/secure_bucket.py"),
    ("DirectoryBucket", "components/secure_bucket.py"),
    ("Secret", "components/base.py"),
])
def test_each_building_block_is_the_only_maker_of_its_resources(constructor: str, maker: str) -> None:
    """Security-group rules come from the grant API (grant, grant_from, grant_to), buckets from SecureBucket, secrets
    from managed_secret: a second maker is a second copy of the hardening or naming they hold, free to drift."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sources = [*root.glob("components/*.py"), *root.glob("bootstrap/*.py"), *root.glob("examples/**/*.py"),
               root / "__main__.py", root / "stack_config.py"]
    found = []
    for path in sorted(sources):
        tree = ast.parse(path.read_text())
        from_aws = {alias.asname or alias.name: alias.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi_aws")
                    for alias in node.names}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or path.relative_to(root).as_posix() == maker:
                continue
            # aws.x.Y(...), or a Y(...) imported from pulumi_aws (components/settings.py has a Secret of its own)
            called = node.func.attr if isinstance(node.func, ast.Attribute) else (
                from_aws.get(node.func.id, "") if isinstance(node.func, ast.Name) else "")  # `import Y as Z`: Y
            inline = called == "SecurityGroup" and any(k.arg in ("ingress", "egress") for k in node.keywords)
            if called == constructor or (constructor == "SecurityGroupIngressRule" and inline):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == [], f"{constructor} made outside {maker}: {found}"


def test_a_peer_is_one_cidr_block_or_one_prefix_list() -> None:
    from components.connections import Peer

    with pytest.raises(ValueError, match="exactly one of cidr_ipv4 or prefix_list_id"):
        Peer("nowhere")
    with pytest.raises(ValueError, match="exactly one of cidr_ipv4 or prefix_list_id"):
        Peer("both", cidr_ipv4="10.0.0.0/8", prefix_list_id="pl-1")
    assert Peer("CloudFront", prefix_list_id="pl-3b927c52").cidr_ipv4 is None


def test_an_egress_restricted_source_stays_restricted_towards_addresses_too() -> None:
    """grant_to holds a source to its egress ports as grant does: the ALB may only send to its targets' port."""
    from unittest import mock

    from components.connections import ANYWHERE, Connections, grant_to

    alb = Connections(mock.Mock(), label="alb", egress_ports=(3000,))
    with pytest.raises(ValueError, match=r"grant_to\(alb -> the internet\): alb may only send to port 3000, not 443"):
        grant_to(alb, ANYWHERE, 443, name="alb-to-https", description="x", tags={})
