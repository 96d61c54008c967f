"""The network box alone (a test program): the stack's config and its Network, with a stand-in for the logs key
(the ECR endpoints' policies admit this account's registries only: the foundation's registry account is the stack's
business).

What tests/test_network.py checks of the component's own choices across settings (the CIDR plan as AZs come and
go, an endpoint offered in none of the AZs), without the other ~400 resources of the stack: ~0.15 s of CPU a run
against ~1.5 s. How the stack wires the network is checked on the stacks' own runs (and the test compares this
program's subnets with prod's).
"""

import pulumi_aws as aws

import stack_config
from components.base import AwsContext
from components.network import Network, NetworkArgs

config = stack_config.load()
key = aws.kms.Key("keys-logs", description="stands in for EncryptionKeys.logs")
Network("network", NetworkArgs(
    context=AwsContext.lookup(config.region), settings=config.network, flow_log_key=key,
    log_retention_days=config.log_retention_days, name_prefix=config.name_prefix, tags=config.tags))
