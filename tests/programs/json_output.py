"""The same documents rendered by json_output and by the SDK's Output.json_dumps, each into a resource input."""

import asyncio

import pulumi
import pulumi_aws as aws

from components.base import json_output

key = aws.kms.Key("key", description="a resource whose outputs the documents hold")
topic = aws.sns.Topic("topic", kms_master_key_id=key.arn)


async def later() -> str:
    return "from-an-awaitable"


def documents() -> dict[str, object]:
    return {
        "plain": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ("s3:GetObject",)}]},
        "outputs": {"Statement": [{"Resource": [key.arn, topic.arn], "Principal": {"AWS": "*"}, "n": 3,
                                   "ok": True, "none": None, "nested": {"deep": [[topic.id]]}}]},
        "secret": {"password": pulumi.Output.secret("hunter2-but-longer"), "user": "admin"},
        "output-of-outputs": {"list": pulumi.Output.from_input([key.arn, {"inner": topic.arn}])},
        "awaitable": [asyncio.ensure_future(later()), "x"],
        "repeated": {"Statement": [{"Resource": key.arn}, {"Resource": [key.arn, topic.arn, key.arn]}]},
    }


for render in ("ours", "sdk"):
    for name, document in documents().items():
        text = json_output(document) if render == "ours" else pulumi.Output.json_dumps(document)
        aws.iam.Policy(f"{render}-{name}", policy=text)
