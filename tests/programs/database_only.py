"""The data tier's database alone (a test program): the stack's config and its Database, with stand-ins for what
__main__.py passes it from other boxes (the VPC, the data subnets, the keys).

What tests/test_database.py checks of the component's own choices across settings (replica count, a class per
replica), without the other ~430 resources of the stack: ~0.1 s of CPU a run against ~1.5 s. How the stack wires the
database is checked on the stacks' own runs (and the test compares this program's replicas with prod's).
"""

import pulumi_aws as aws

import stack_config
from components.base import AwsContext
from components.database import Database, DatabaseArgs
from components.network import pick_availability_zones

config = stack_config.load()
context = AwsContext.lookup(config.region)
key = aws.kms.Key("keys-data", description="stands in for EncryptionKeys.data and EncryptionKeys.logs")
az_names = pick_availability_zones(config.network.az_count, config.network.az_names)  # as Network picks them
Database("database", DatabaseArgs(
    context=context, settings=config.database, vpc_id="vpc-0123", subnet_ids=[f"subnet-data-{az}" for az in az_names],
    az_names=az_names, data_key=key, log_key=key, private_zone_name=config.private_zone_name,
    log_retention_days=config.log_retention_days, removal_policy=config.removal_policy, name_prefix=config.name_prefix,
    tags=config.tags))
