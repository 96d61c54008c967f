"""Component-level program: a LoadBalancer granted to a stand-in web SG (the web service is wired in __main__)."""

import pulumi
import pulumi_aws as aws

from components.base import AwsContext
from components.connections import Connections, grant
from components.load_balancer import LoadBalancer, LoadBalancerArgs, LoadBalancerSettings

context = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
web = aws.ec2.SecurityGroup("web-tasks", vpc_id="vpc-0123", description="stand-in for the web service's SG")
load_balancer = LoadBalancer("lb", LoadBalancerArgs(
    context=context, vpc_id="vpc-0123", subnet_ids=["subnet-a", "subnet-b"], domain_name="app.example.com",
    settings=LoadBalancerSettings(hosted_zone_id="Z0EXAMPLE"), target_port=3000,
    server_access_logs=None,  # no log bucket in this component-level program
))
web_tasks = Connections(web, label="web", default_port=3000, traffic="HTTP")
grant(load_balancer, web_tasks)
for port, name in ((8080, "wrong-port"), (3000, "web")):
    try:
        grant(load_balancer, web_tasks, port)
    except ValueError as error:
        pulumi.export(f"error-{name}", str(error))
pulumi.export("webSecurityGroupId", web.id)
pulumi.export("requestCountLabel", load_balancer.request_count_resource_label)
pulumi.export("servingUrns", [resource.urn for resource in load_balancer.serving])
pulumi.export("targetKeepAliveMs", load_balancer.target_keep_alive_ms)
