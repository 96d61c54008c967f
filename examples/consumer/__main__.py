"""A consumer of the Maratron outputs contract: a reporting job's network identity inside the platform VPC.

Reads only contract outputs (docs/outputs.md), refuses a contract with an unexpected major version, and never needs
a secret value: it would read the database's read-only URL with its own IAM role - in contract 2.x the `url` key of
the JSON secret `databaseReadUrlSecretArn` (an ECS task names it with `databaseReadUrlValueFrom`).
"""

import pulumi
import pulumi_aws as aws

SUPPORTED_CONTRACT_MAJOR = 2  # 2.0.0: JSON connection secrets (`url` key); kmsKeyArns lost the images key

config = pulumi.Config()
platform = pulumi.StackReference(config.require("platformStack"))


def check_contract(version: str) -> str:
    major = int(version.split(".")[0])
    if major != SUPPORTED_CONTRACT_MAJOR:
        raise pulumi.RunError(f"platform outputs contract {version} is not supported "
                              f"(need {SUPPORTED_CONTRACT_MAJOR}.x)")
    return version


contract_version = platform.require_output("contractVersion").apply(check_contract)

reporting = aws.ec2.SecurityGroup(
    "reporting",
    vpc_id=platform.require_output("vpcId"),
    description="Reporting job (reads Maratron's read replicas)",
    tags={"owner": "analytics"},
)

pulumi.export("contractVersion", contract_version)
pulumi.export("reportingSecurityGroupId", reporting.id)
pulumi.export("reportingSubnetIds", platform.require_output("appSubnetIds"))
pulumi.export("readUrlValueFrom", platform.require_output("databaseReadUrlValueFrom"))  # for the job's ECS `secrets`
