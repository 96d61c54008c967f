"""Network component: tiers per AZ, a stable CIDR plan, NAT strategy, isolation, flow logs, endpoints."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from pathlib import Path

import pytest

from components.network import subnet_cidr, tier_cidr
from offline.engine import StackRun
from tests.configs import STAGING_TUNED

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def subnets_by_tier(run: StackRun) -> dict[str, dict[str, str]]:
    """tier -> AZ -> CIDR."""
    tiers: dict[str, dict[str, str]] = {}
    for subnet in run.of_type(SUBNET):
        tiers.setdefault(subnet.inputs["tags"]["tier"], {})[subnet.inputs["availabilityZone"]] = \
            subnet.inputs["cidrBlock"]
    return tiers


def routes_of_tier(run: StackRun, tier: str) -> list[dict]:
    tables = {t.id for t in run.of_type(ROUTE_TABLE) if t.inputs["tags"]["tier"] == tier}
    return [r.inputs for r in run.of_type(ROUTE) if r.outputs["routeTableId"] in tables]


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def test_prod_spans_three_azs_with_three_tiers(prod: StackRun) -> None:
    tiers = subnets_by_tier(prod)
    assert set(tiers) == {"public", "app", "data"}
    for azs in tiers.values():
        assert sorted(azs) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    vpc = prod.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True
    all_cidrs = [ipaddress.ip_network(c) for azs in tiers.values() for c in azs.values()]
    for subnet in all_cidrs:
        assert subnet.subnet_of(ipaddress.ip_network(vpc.inputs["cidrBlock"]))
    assert not any(a.overlaps(b) for i, a in enumerate(all_cidrs) for b in all_cidrs[i + 1:])


def test_no_subnet_maps_public_ips(any_stack: StackRun) -> None:
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in any_stack.of_type(SUBNET))


def test_every_subnet_has_its_own_route_table(any_stack: StackRun) -> None:
    associated = [a.inputs["subnetId"] for a in any_stack.of_type(ASSOCIATION)]
    assert sorted(associated) == sorted(s.id for s in any_stack.of_type(SUBNET))
    assert len({a.inputs["routeTableId"] for a in any_stack.of_type(ASSOCIATION)}) == len(associated)


def test_cidr_plan_never_renumbers_when_azs_change(prod: StackRun) -> None:
    three = subnets_by_tier(network_only())
    assert three == subnets_by_tier(prod)  # the program lays out prod's subnets as the stack does
    two = subnets_by_tier(network_only(azCount=2, azNames=["us-east-1a", "us-east-1c"]))
    four = subnets_by_tier(network_only(azCount=4, azNames=["us-east-1d", "us-east-1a", "us-east-1b", "us-east-1c"]))
    assert (sorted(two["app"]), sorted(four["app"])) == (
        ["us-east-1a", "us-east-1c"], ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"])
    for tier, azs in three.items():
        for az, cidr in two[tier].items():
            assert azs[az] == cidr, (tier, az)
        for az, cidr in azs.items():
            assert four[tier][az] == cidr, (tier, az)


def test_cidr_plan_layout() -> None:
    assert subnet_cidr("10.0.0.0/16", "app", "us-east-1a") == "10.0.0.0/20"
    assert subnet_cidr("10.0.0.0/16", "app", "us-east-1c") == "10.0.32.0/20"
    assert subnet_cidr("10.0.0.0/16", "data", "us-east-1b") == "10.0.136.0/21"
    assert subnet_cidr("10.0.0.0/16", "public", "us-east-1h") == "10.0.220.0/22"
    assert subnet_cidr("10.1.0.0/20", "public", "us-east-1a") == "10.1.12.0/26"
    assert [tier_cidr("10.0.0.0/16", t) for t in ("app", "data", "public")] == \
        ["10.0.0.0/17", "10.0.128.0/18", "10.0.192.0/19"]
    assert tier_cidr("10.1.0.0/20", "app") == "10.1.0.0/21"
    with pytest.raises(ValueError, match="must end in a letter a-h"):
        subnet_cidr("10.0.0.0/16", "app", "us-east-1z")


def test_prod_has_a_nat_gateway_per_az_and_each_app_az_uses_its_own(prod: StackRun) -> None:
    nats = prod.of_type(NAT)
    assert len(nats) == 3
    public_subnet_az = {s.id: s.inputs["availabilityZone"] for s in prod.of_type(SUBNET)}
    nat_az = {n.id: public_subnet_az[n.inputs["subnetId"]] for n in nats}
    tables = {t.id: t.name for t in prod.of_type(ROUTE_TABLE)}
    for route in prod.of_type(ROUTE):
        if "natGatewayId" in route.inputs:
            table_name = tables[route.inputs["routeTableId"]]
            assert table_name.endswith(nat_az[route.inputs["natGatewayId"]]), table_name
    # A public NAT gateway (and its address) needs the internet gateway attached first, or it ends Failed.
    igw = prod.one("aws:ec2/internetGateway:InternetGateway")
    for resource in [*nats, *prod.of_type("aws:ec2/eip:Eip")]:
        assert igw.urn in resource.dependencies, resource.name


def test_dev_has_a_single_nat_gateway_shared_by_the_app_tier(dev: StackRun) -> None:
    nats = dev.of_type(NAT)
    assert len(nats) == 1
    app_routes = routes_of_tier(dev, "app")
    assert len(app_routes) == 2
    assert {r["natGatewayId"] for r in app_routes} == {nats[0].id}


def test_no_nat_is_refused_because_the_app_needs_internet_egress(run_variant) -> None:  # type: ignore[no-untyped-def]
    # The AI server and web call Anthropic, the weather API and Sentry: without a NAT path nothing answers.
    run = run_variant("prod", natGateways="none",
                      interfaceEndpoints=["ecr.api", "ecr.dkr", "logs", "secretsmanager", "elasticache"])
    assert not run.ok
    assert "maratron:natGateways = \"none\": none cuts the app off from the internet" in str(run.error)


def test_the_network_component_itself_can_still_go_without_nat() -> None:
    from components.network import NetworkSettings
    from components.settings import problems

    endpoints = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "elasticache")
    # a reusable block: only this stack refuses it
    assert problems(NetworkSettings(nat_gateways="none", interface_endpoints=endpoints)) == []
    # ... as long as what runs in the app tier reaches its AWS APIs: the redis-rotation function calls ElastiCache
    missing = problems(NetworkSettings(nat_gateways="none", interface_endpoints=endpoints[:-1]))
    assert len(missing) == 1 and "must include elasticache" in str(missing[0])


def test_public_tier_routes_to_the_internet_gateway(any_stack: StackRun) -> None:
    igw = any_stack.one("aws:ec2/internetGateway:InternetGateway")
    routes = routes_of_tier(any_stack, "public")
    assert routes and all(r["gatewayId"] == igw.id and r["destinationCidrBlock"] == "0.0.0.0/0" for r in routes)


def test_data_tier_has_no_route_out_of_the_vpc(any_stack: StackRun) -> None:
    assert routes_of_tier(any_stack, "data") == []
    data_tables = {t.id for t in any_stack.of_type(ROUTE_TABLE) if t.inputs["tags"]["tier"] == "data"}
    for endpoint in any_stack.of_type(ENDPOINT):
        assert not data_tables.intersection(endpoint.inputs.get("routeTableIds", []))


def test_default_security_group_is_closed(any_stack: StackRun) -> None:
    default = any_stack.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs.get("ingress", []) == [] and default.inputs.get("egress", []) == []
    assert default.inputs["vpcId"] == any_stack.one("aws:ec2/vpc:Vpc").id


def test_flow_logs_capture_all_traffic_into_an_encrypted_retained_group(any_stack: StackRun) -> None:
    flow_log = any_stack.one("aws:ec2/flowLog:FlowLog")
    group = any_stack.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
    key = any_stack.one("aws:kms/key:Key", "keys-logs")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["vpcId"] == any_stack.one("aws:ec2/vpc:Vpc").id
    assert flow_log.inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert group.inputs["retentionInDays"] == int(any_stack.config["maratron:logRetentionDays"])
    assert key.inputs["enableKeyRotation"] is True
    role = any_stack.by_urn(flow_log.property_dependencies["iamRoleArn"][0])
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    # The flow log waits for the role's policy (delivery checks it), which holds AWS's stated minimum actions.
    policy = next(p for p in any_stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.urn in flow_log.dependencies)
    actions = {a for st in json.loads(policy.plain("policy"))["Statement"] for a in as_list(st["Action"])}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:DescribeLogGroups"}


def test_flow_log_records_carry_the_version_5_fields_for_incident_response(any_stack: StackRun) -> None:
    # Custom format (the default is version 2 only): where an interface sits, the original addresses behind the NAT
    # gateway, TCP flags, the AWS service on either end, the direction and the path egress took; nothing that is the
    # same on every record of the group (account, VPC, region, IP version).
    flow_log = any_stack.one("aws:ec2/flowLog:FlowLog")
    assert flow_log.delete_before_replace  # a format change replaces it: never two on one VPC and destination
    assert flow_log.inputs["logFormat"] == (
        "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} "
        "${start} ${end} ${action} ${log-status} ${subnet-id} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${az-id} "
        "${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}")


def test_logs_key_policy_admits_cloudwatch_logs_of_this_account_only(prod: StackRun) -> None:
    policy = json.loads(prod.one("aws:kms/key:Key", "keys-logs").inputs["policy"])
    logs = next(s for s in policy["Statement"] if s["Sid"] == "AllowCloudWatchLogs")
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == \
        "arn:aws:logs:us-east-1:123456789012:log-group:*"


def test_prod_endpoints_admit_https_from_the_app_tier_only(prod: StackRun) -> None:
    endpoints = {e.inputs["serviceName"]: e.inputs for e in prod.of_type(ENDPOINT)}
    # The registry's two (image pulls); logs and Secrets Manager go through the per-AZ NAT (Pulumi.prod.yaml).
    assert set(endpoints) == {f"com.amazonaws.us-east-1.{s}" for s in ("s3", "ecr.api", "ecr.dkr")}
    assert endpoints["com.amazonaws.us-east-1.s3"]["vpcEndpointType"] == "Gateway"
    app_subnets = sorted(s.id for s in prod.of_type(SUBNET) if s.inputs["tags"]["tier"] == "app")
    sg = prod.one("aws:ec2/securityGroup:SecurityGroup", "network-endpoints")
    for name, endpoint in endpoints.items():
        if endpoint["vpcEndpointType"] == "Interface":
            assert endpoint["privateDnsEnabled"] is True, name
            assert sorted(endpoint["subnetIds"]) == app_subnets, name
            assert endpoint["securityGroupIds"] == [sg.id], name
    rules = [r.inputs for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.inputs["securityGroupId"] == sg.id]
    # The app tier's block (10.0.0.0/17: its eight slots, nothing of the data or public tiers) ...
    assert rules == [{**rules[0], "fromPort": 443, "toPort": 443, "ipProtocol": "tcp", "cidrIpv4": "10.0.0.0/17"}]
    app_block = ipaddress.ip_network("10.0.0.0/17")
    for subnet in prod.of_type(SUBNET):
        inside = ipaddress.ip_network(subnet.inputs["cidrBlock"]).subnet_of(app_block)
        assert inside == (subnet.inputs["tags"]["tier"] == "app"), subnet.name
    # ... which holds every workload that sends HTTPS: whatever places a group with 443 egress (services, functions,
    # schedules, the migration's run-task command) names app subnets and no other.
    tiers = {s.id: s.inputs["tags"]["tier"] for s in prod.of_type(SUBNET)}
    senders = {r.inputs["securityGroupId"] for r in prod.of_type(EGRESS_RULE)
               if r.inputs.get("ipProtocol") == "-1" or r.inputs.get("fromPort", 0) <= 443 <= r.inputs.get("toPort", 0)}
    placements = {f"{r.type} {r.name}": json.dumps(r.inputs) for r in prod.resources}
    placements.update({f"output {k}": json.dumps(v) for k, v in prod.outputs.items()})
    placed = {where: {tiers[s] for s in tiers if s in text} for where, text in placements.items()
              if any(g in text for g in senders)}
    assert {where: found for where, found in placed.items() if found - {"app"}} == {}
    assert len([where for where, found in placed.items() if found == {"app"}]) >= 7  # ai, web, functions, schedules...
    assert not [r for r in prod.of_type(EGRESS_RULE) if r.inputs["securityGroupId"] == sg.id]


NETWORK_ONLY = Path(__file__).parent / "programs" / "network_only.py"
_network_runs: dict[str, StackRun] = {}


def network_only(**overrides: object) -> StackRun:
    """prod's config (with overrides, short keys) through tests/programs/network_only.py: the Network component
    alone, as the stack builds it (~0.15 s of CPU against ~1.5 s for the whole stack), once per module."""
    key = json.dumps(overrides, sort_keys=True)
    if key not in _network_runs:
        _network_runs[key] = run_with_endpoint_offer({}, overrides={f"maratron:{k}": v for k, v in overrides.items()},
                                                     program=NETWORK_ONLY)
        assert _network_runs[key].ok, _network_runs[key].error_details
    return _network_runs[key]


@pytest.fixture(scope="module")
def narrow_dkr() -> StackRun:
    """prod's Network (tests/programs/network_only.py) where ecr.dkr is offered in three AZs only and takes no
    endpoint policy: one run for the two tests that look at the one endpoint (its subnets, its policy)."""
    run = run_with_endpoint_offer({"dkr": ["us-east-1a", "us-east-1c", "us-east-1f"]}, policy_supported={"dkr": False},
                                  program=NETWORK_ONLY)
    assert run.ok, run.error_details
    return run


def run_with_endpoint_offer(offered: dict[str, list[str]], policy_supported: dict[str, bool] | None = None, *,
                            overrides: dict[str, object] | None = None, program: Path | None = None) -> StackRun:
    """prod (with overrides; the whole stack, or another program), with interface endpoint services offered only in
    the given AZs (the rest in every AZ), and taking an endpoint policy or not (default: they do)."""
    from offline.engine import run_program, stack_config
    from offline.foundation import app_mocks

    config, secret_keys, placeholders = stack_config("prod", overrides)
    mocks = app_mocks(config)
    answer = mocks.call

    def call(args):  # type: ignore[no-untyped-def]
        found, failures = answer(args)
        service = str(args.args.get("serviceName", "")).rsplit(".", 1)[-1]
        if args.token == "aws:ec2/getVpcEndpointService:getVpcEndpointService" and service in offered:
            found = {**found, "availabilityZones": offered[service]}
        if args.token == "aws:ec2/getVpcEndpointService:getVpcEndpointService" and service in (policy_supported or {}):
            found = {**found, "vpcEndpointPolicySupported": (policy_supported or {})[service]}
        return found, failures

    mocks.call = call  # type: ignore[method-assign]
    return run_program("prod", config, secret_keys, placeholders=placeholders, mocks=mocks, program=program)


def test_interface_endpoints_sit_only_in_the_azs_their_service_is_offered_in(prod: StackRun,
                                                                            narrow_dkr: StackRun) -> None:
    # Every interface endpoint's service is looked up (AZ names map to different zones in each account) ...
    looked_up = sorted(args["serviceName"] for token, args in prod.invokes
                       if token == "aws:ec2/getVpcEndpointService:getVpcEndpointService")
    assert looked_up == [f"com.amazonaws.us-east-1.{s}" for s in ("ecr.api", "ecr.dkr")]
    # (the Network alone places prod's endpoints as the stack does: narrow_dkr is that program with other answers)
    assert endpoint_azs(network_only()) == endpoint_azs(prod)
    # ... and an AZ it is not offered in gets no subnet (CreateVpcEndpoint would refuse it).
    azs = {s.id: s.inputs["availabilityZone"] for s in narrow_dkr.of_type(SUBNET)}
    endpoint = next(e for e in narrow_dkr.of_type(ENDPOINT) if e.inputs["serviceName"].endswith(".ecr.dkr"))
    assert sorted(azs[i] for i in endpoint.inputs["subnetIds"]) == ["us-east-1a", "us-east-1c"]


def endpoint_azs(run: StackRun) -> dict[str, list[str]]:
    """Each endpoint's service -> the AZs of its subnets."""
    azs = {s.id: s.inputs["availabilityZone"] for s in run.of_type(SUBNET)}
    return {e.inputs["serviceName"]: sorted(azs[i] for i in e.inputs.get("subnetIds", []))
            for e in run.of_type(ENDPOINT)}


def test_an_endpoint_offered_in_none_of_the_azs_fails_naming_both() -> None:
    run = run_with_endpoint_offer({"api": ["us-east-1f"]}, program=NETWORK_ONLY)  # Network raises it, in any program
    assert not run.ok
    assert ("interface endpoint com.amazonaws.us-east-1.ecr.api is offered in us-east-1f, none of this stack's AZs "
            "(us-east-1a, us-east-1b, us-east-1c)") in str(run.error)


def test_dev_has_only_the_free_s3_gateway_endpoint(dev: StackRun) -> None:
    assert [e.inputs["vpcEndpointType"] for e in dev.of_type(ENDPOINT)] == ["Gateway"]


def test_unpinned_azs_are_looked_up(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("staging", **STAGING_TUNED)  # azNames []
    assert run.ok, run.error
    assert run.config["maratron:azNames"] == "[]"
    assert sorted(subnets_by_tier(run)["app"]) == ["us-east-1a", "us-east-1b"]


def test_every_taggable_network_resource_carries_the_stack_tags(any_stack: StackRun) -> None:
    network = any_stack.one("maratron:network:Network")
    for resource in any_stack.descendants(network):
        if resource.type in (ASSOCIATION, ROUTE, "aws:iam/rolePolicy:RolePolicy"):
            continue  # not taggable
        tags = resource.inputs.get("tags", {})
        assert tags.get("environment") == any_stack.config["maratron:environment"], resource.name
        assert {"owner", "cost-center", "project", "Name"} <= set(tags), resource.name


def test_keys_are_protected_in_prod_only(prod: StackRun, dev: StackRun) -> None:
    assert all(k.protect for k in prod.of_type("aws:kms/key:Key"))
    assert not any(k.protect for k in dev.of_type("aws:kms/key:Key"))


def test_partition_follows_the_region() -> None:
    from components.base import partition_of

    assert [partition_of(r) for r in ("us-east-1", "cn-north-1", "us-gov-west-1", "us-isob-east-1")] == \
        ["aws", "aws-cn", "aws-us-gov", "aws-iso-b"]


# --- endpoint policies: this account's principals to this account's resources, and what the stack needs beyond ----

def allows(policy: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether an Allow statement of an endpoint policy matches a request (the operators these policies use)."""
    def condition_holds(operator: str, key: str, values: object) -> bool:
        wanted = [str(v) for v in as_list(values)]
        if operator == "StringEquals":
            return context.get(key) in wanted
        if operator == "StringEqualsIfExists":
            return key not in context or context[key] in wanted
        if operator == "Bool":
            return context.get(key, "false") in wanted
        raise AssertionError(f"operator {operator} not modelled")

    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Principal"] == "*"
        if not any(fnmatch.fnmatchcase(action, a) for a in as_list(statement["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in as_list(statement["Resource"])):
            continue
        if all(condition_holds(op, key, values) for op, block in statement.get("Condition", {}).items()
               for key, values in block.items()):
            return True
    return False


OURS, REGISTRY, STRANGER, ECR_SIGNER = "123456789012", "111111111111", "999999999999", "012345678901"
LAYER = "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/sha256/abc"


def request(principal: str, resource_account: str | None = None) -> dict[str, str]:
    context = {"aws:PrincipalAccount": principal}
    return context if resource_account is None else {**context, "aws:ResourceAccount": resource_account}


def test_the_s3_gateway_admits_our_buckets_and_ecr_layers_only() -> None:
    from components.network import endpoint_policy

    policy = endpoint_policy("s3", account_id=OURS, partition="aws", region="us-east-1", registry_accounts=[REGISTRY])
    backups = "arn:aws:s3:::maratron-prod-backups/dumps/x.dump"
    assert allows(policy, "s3:PutObject", backups, request(OURS, OURS))  # the backup task writes its dump
    assert not allows(policy, "s3:PutObject", "arn:aws:s3:::elsewhere/x", request(OURS, STRANGER))  # exfiltration
    assert not allows(policy, "s3:GetObject", backups, request(STRANGER, OURS))  # someone else's credentials
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::elsewhere/x", request(OURS, REGISTRY))  # ECR-only account
    # Image layers: a presigned URL ECR's account signs, on AWS's bucket; read only.
    assert allows(policy, "s3:GetObject", LAYER, request(ECR_SIGNER, "000000000000"))
    assert not allows(policy, "s3:PutObject", LAYER, request(ECR_SIGNER, "000000000000"))
    # The broken variant: the account perimeter alone refuses every layer download (tasks could not start).
    broken = {**policy, "Statement": [s for s in policy["Statement"] if s["Sid"] != "EcrImageLayers"]}
    assert not allows(broken, "s3:GetObject", LAYER, request(ECR_SIGNER, "000000000000"))
    assert not allows(broken, "s3:GetObject", LAYER, request(OURS, "000000000000"))


def test_the_ecr_endpoints_admit_the_foundations_registry_in_another_account() -> None:
    from components.network import endpoint_policy

    for service in ("ecr.api", "ecr.dkr"):
        policy = endpoint_policy(service, account_id=OURS, partition="aws", region="us-east-1",
                                 registry_accounts=[REGISTRY])
        repository = f"arn:aws:ecr:us-east-1:{REGISTRY}:repository/maratron/web"
        assert allows(policy, "ecr:BatchGetImage", repository, request(OURS, REGISTRY))
        assert allows(policy, "ecr:GetAuthorizationToken", "*", request(OURS))  # no resource: no resource account
        assert not allows(policy, "ecr:BatchGetImage", repository.replace(REGISTRY, STRANGER), request(OURS, STRANGER))
        assert not allows(policy, "ecr:BatchGetImage", repository, request(STRANGER, REGISTRY))
    # Only the registry's endpoints trust the registry's account.
    for service in ("logs", "secretsmanager", "kms", "monitoring", "sts", "elasticache", "s3"):
        policy = endpoint_policy(service, account_id=OURS, partition="aws", region="us-east-1",
                                 registry_accounts=[REGISTRY])
        assert not allows(policy, f"{service}:Anything", "arn:aws:x", request(OURS, REGISTRY)), service
        assert allows(policy, f"{service}:Anything", "arn:aws:x", request(OURS, OURS)), service
        assert allows(policy, f"{service}:Anything", "*", {"aws:PrincipalIsAWSService": "true"}), service


def test_every_endpoint_of_the_stacks_carries_its_policy(prod: StackRun, dev: StackRun) -> None:
    from components.network import endpoint_policy

    for run in (prod, dev):
        for endpoint in run.of_type(ENDPOINT):
            service = endpoint.inputs["serviceName"].removeprefix("com.amazonaws.us-east-1.")
            expected = endpoint_policy(service, account_id=OURS, partition="aws", region="us-east-1",
                                       registry_accounts=[OURS])  # single-account layout: the registry is ours
            assert json.loads(endpoint.plain("policy")) == expected, (run.stack, service)


def test_an_endpoint_whose_service_takes_no_policy_gets_none(narrow_dkr: StackRun) -> None:
    policies = {e.inputs["serviceName"].rsplit(".", 1)[-1]: e.inputs.get("policy")
                for e in narrow_dkr.of_type(ENDPOINT)}
    assert policies["dkr"] is None and policies["api"] and policies["s3"]


def test_the_pack_requires_and_accepts_the_perimeter_of_every_endpoint_the_stacks_can_list() -> None:
    # vpc-endpoint-data-perimeter: every service settings.interfaceEndpoints may name (and the S3 gateway) is one the
    # pack knows takes an endpoint policy, so an endpoint without it fails; and what endpoint_policy writes for each
    # is confined statement by statement (own principals, AWS services, ECR's layer bucket).
    from components.network import INTERFACE_ENDPOINT_SERVICES, endpoint_policy
    from policies.rules.network import ENDPOINT_POLICY_SERVICES, _confined

    assert {"s3", *INTERFACE_ENDPOINT_SERVICES} <= ENDPOINT_POLICY_SERVICES
    for service in ("s3", *INTERFACE_ENDPOINT_SERVICES):
        policy = endpoint_policy(service, account_id=OURS, partition="aws", region="us-east-1",
                                 registry_accounts=[REGISTRY])
        assert all(_confined(s, service, "us-east-1") for s in policy["Statement"]), service
    # ECR's layer bucket is confined only on the S3 endpoint, and only for its region.
    layers = endpoint_policy("s3", account_id=OURS, partition="aws", region="us-east-1")["Statement"][-1]
    assert not _confined(layers, "s3", "eu-west-1") and not _confined(layers, "logs", "us-east-1")
