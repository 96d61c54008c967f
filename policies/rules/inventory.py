"""The inventory ledger: every property the stacks set that no rule guards, and why.

Together with the Guards the rules declare, this classifies every property path the stacks' resources set (see
offline/policy_ledger.py): a test walks dev, staging and prod and fails on a property that is neither guarded by a
rule nor listed here, and on an entry here that covers nothing any stack sets. Adding a resource or a setting
therefore means deciding: a control (give the rule that checks it a Guard, or write that rule) or not (an entry here,
with its reason). Paths use the notation of `_controls.py`; an entry covers its path and everything below it.

Categories of what is not a control:

* identity: names, descriptions, identifiers and comments;
* wiring: references to other resources (ARNs, ids, names of what is attached where);
* capacity: sizes, counts, scaling and placement choices that cost money, not safety;
* layout: addresses, Availability Zones, routes, ports and protocols of the architecture itself;
* schedule: maintenance, backup and job windows;
* tuning: timeouts, intervals, thresholds and engine parameters chosen for performance;
* content: dashboards, alarm definitions, messages and response bodies (observability and UX, tested elsewhere);
* application: what the app runs with (image build, command, environment, ports);
* structure: the scaffolding of policy documents (Version, Sid) and of resource bodies;
* pulumi: Pulumi resource options that are lifecycle mechanics, not protection.

An *unguardable* entry is a control the pack cannot see: the analyzer protocol does not carry it, so a test of the
program guards it instead (the reason names the test).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._controls import ANY_TYPE

CATEGORIES = ("identity", "wiring", "capacity", "layout", "schedule", "tuning", "content", "application",
              "structure", "pulumi")


@dataclass(frozen=True)
class Classified:
    types: tuple[str, ...]
    path: str
    category: str
    reason: str
    kind: str = "not-a-control"


def not_a_control(types: str | tuple[str, ...], path: str, category: str, reason: str) -> Classified:
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    return Classified(types if isinstance(types, tuple) else (types,), path, category, reason)


def unguardable(types: str | tuple[str, ...], path: str, reason: str) -> Classified:
    return Classified(types if isinstance(types, tuple) else (types,), path, "unguardable", reason, "unguardable")



CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
QUERY_DEFINITION = "aws:cloudwatch/queryDefinition:QueryDefinition"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_RESOURCE_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
AMP_WORKSPACE = "aws:amp/workspace:Workspace"
AMP_CONFIGURATION = "aws:amp/workspaceConfiguration:WorkspaceConfiguration"
AMP_RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
AMP_ALERT_MANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
GRAFANA = "aws:grafana/workspace:Workspace"
GRAFANA_ROLE_ASSOCIATION = "aws:grafana/roleAssociation:RoleAssociation"
GRAFANA_SAML = "aws:grafana/workspaceSamlConfiguration:WorkspaceSamlConfiguration"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
EIP = "aws:ec2/eip:Eip"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
IGW = "aws:ec2/internetGateway:InternetGateway"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
SG = "aws:ec2/securityGroup:SecurityGroup"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
REGISTRY_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
CREATION_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
MANAGED_POLICY = "aws:iam/policy:Policy"
CLUSTER = "aws:ecs/cluster:Cluster"
CAPACITY_PROVIDERS = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
CACHE_PARAMETERS = "aws:elasticache/parameterGroup:ParameterGroup"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_SUBNETS = "aws:elasticache/subnetGroup:SubnetGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ALIAS = "aws:kms/alias:Alias"
KEY = "aws:kms/key:Key"
REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
DB = "aws:rds/instance:Instance"
DB_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
DB_SUBNETS = "aws:rds/subnetGroup:SubnetGroup"
RECORD = "aws:route53/record:Record"
ZONE = "aws:route53/zone:Zone"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
SCHEDULE = "aws:scheduler/schedule:Schedule"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
MONITORING_SUBSCRIPTION = "aws:cloudfront/monitoringSubscription:MonitoringSubscription"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
LOG_DESTINATION = "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
RDS_BACKUPS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
RDS_INSTANCE = "aws:rds/instance:Instance"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
BUDGET = "aws:budgets/budget:Budget"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
IMAGE = "docker:index/image:Image"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
RANDOM_ID = "random:index/randomId:RandomId"
PROXY = "aws:rds/proxy:Proxy"
PROXY_POOL = "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup"
PROXY_TARGET = "aws:rds/proxyTarget:ProxyTarget"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
FUNCTION = "aws:lambda/function:Function"
INVOCATION = "aws:lambda/invocation:Invocation"
PERMISSION = "aws:lambda/permission:Permission"
CACHE_USER = "aws:elasticache/user:User"
CACHE_USER_GROUP = "aws:elasticache/userGroup:UserGroup"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
CONTAINER = "containerDefinitions<json>[*]"
POLICY_DOCUMENTS = (LOG_RESOURCE_POLICY, KEY, REPLICA_KEY, BUCKET_POLICY, TOPIC_POLICY, ROLE_POLICY)

N, U = not_a_control, unguardable
LEDGER: list[Classified] = [
    # --- across types ---------------------------------------------------------------------------------------------
    N(ANY_TYPE, "name", "identity", "a resource's name"),
    N(ANY_TYPE, "namePrefix", "identity", "a resource's name before Pulumi's suffix (replaced create-first)"),
    N(ANY_TYPE, "description", "identity", "a human description"),
    N(ANY_TYPE, "@additionalSecretOutputs", "pulumi",
      "belt and braces: the provider schema already marks these outputs secret"),
    N((ALIAS, LISTENER, LISTENER_RULE, RECORD, LIFECYCLE, BUCKET_LOGGING, OBJECT_LOCK, OWNERSHIP, BUCKET_POLICY,
       PUBLIC_ACCESS_BLOCK, SSE, VERSIONING, AMP_CONFIGURATION, AMP_RULES, AMP_ALERT_MANAGER), "@protect", "pulumi",
      "inherited from a protected parent (Pulumi protect is inherited); the parent's protection is guarded"),
    U(BUCKET, "@retainOnDelete",
      "the analyzer protocol carries no retainOnDelete (AnalyzerResourceOptions); tests/test_lifecycle.py checks that "
      "every bucket of a retain stack is retained on delete"),
    N(SERVICE, "@ignoreChanges", "pulumi", "desiredCount belongs to Application Auto Scaling after creation"),
    N(SG, "@ignoreChanges", "pulumi", "the ALB group's description: EC2 cannot update it, so a change would replace "
      "the group under the live ALB"),
    N(REDIS, "@deleteBeforeReplace", "pulumi", "a replacement needs the fixed replicationGroupId free first"),
    N(REDIS, "@replaceOnChanges", "pulumi", "clusterMode: AWS changes a running group's mode only in two steps "
      "through compatible, which one up cannot express; a replacement is what the preview shows (protect stops it)"),
    N(WEB_ACL_ASSOCIATION, "@deleteBeforeReplace", "pulumi", "its delete disassociates whatever ACL the ALB has: "
      "create-first would remove its successor (pulumi/pulumi-aws#4782)"),
    N(ALARM, "@replaceOnChanges", "pulumi", "percentile alarms, once single-metric with a computed low-sample "
      "setting: new metric queries replace them"),
    N(FLOW_LOG, "@deleteBeforeReplace", "pulumi", "a new record format replaces the flow log; the old one goes first "
      "(one per VPC and destination)"),
    N(RDS_BACKUPS_REPLICATION, "@deleteBeforeReplace", "pulumi",
      "old and new name the instance's one replication: stop it before starting it again (tests/test_disaster_recovery"
      ".py)"),
    N(POLICY_DOCUMENTS, "policy<json>.Version", "structure", "the policy language version"),
    N((LOG_RESOURCE_POLICY,), "policyDocument<json>.Version", "structure", "the policy language version"),
    N((ROLE,), "assumeRolePolicy<json>.Version", "structure", "the policy language version"),
    N(POLICY_DOCUMENTS, "policy<json>.Statement[*].Sid", "identity", "a statement's label"),
    N((LOG_RESOURCE_POLICY,), "policyDocument<json>.Statement[*].Sid", "identity", "a statement's label"),
    N((DB_PARAMETERS, CACHE_PARAMETERS), "parameters[*].name", "structure", "the key of a parameter entry"),
    N((DB_PARAMETERS, CACHE_PARAMETERS), "family", "wiring", "the engine family the group belongs to"),
    N((CLUSTER,), "settings[*].name", "structure", "the key of a cluster setting"),
    # --- certificates and DNS -------------------------------------------------------------------------------------
    N(CERTIFICATE, "domainName", "identity", "the site's name"),
    N(CERTIFICATE, "keyAlgorithm", "layout",
      "ACM only issues RSA 2048+ or ECDSA P-256/P-384 certificates: there is no weak choice to guard"),
    N(CERTIFICATE, "validationMethod", "wiring",
      "how ACM proves domain control; a change blocks the deploy at issue time, it cannot regress silently"),
    N(VALIDATION, "certificateArn", "wiring", "the certificate being validated"),
    N(VALIDATION, "validationRecordFqdns", "wiring", "the DNS records ACM checks"),
    N(RECORD, "", "layout", "DNS records: names and targets of the architecture (alias, validation, reader names)"),
    N(ZONE, "", "layout", "the private hosted zone of the data tier's names: names only, no access"),
    N(HEALTH_CHECK, "type", "layout", "how a reader record's health is read (a CloudWatch alarm: its checkers cannot "
      "reach a private endpoint); what silence means is guarded (route53-weighted-fallback-health-checked)"),
    N(HEALTH_CHECK, "cloudwatchAlarmRegion", "wiring", "where the watched alarm lives, the stack's region "
      "(tests/test_database.py checks it on every stack with replicas)"),
    # --- autoscaling --------------------------------------------------------------------------------------------------
    N(SCALING_POLICY, "", "capacity", "target-tracking scaling: targets and cooldowns are capacity tuning"),
    N(SCALABLE_TARGET, "maxCapacity", "capacity", "the scaling ceiling (cost)"),
    N(SCALABLE_TARGET, "resourceId", "wiring", "the service scaled"),
    N(SCALABLE_TARGET, "scalableDimension", "wiring", "what is scaled (desired count)"),
    N(SCALABLE_TARGET, "serviceNamespace", "wiring", "the scaled service's namespace"),
    # --- monitoring ------------------------------------------------------------------------------------------------
    N(DASHBOARD, "", "content", "the dashboard's widgets (tests/test_observability.py)"),
    N(QUERY_DEFINITION, "", "content", "a saved Logs Insights query (the seed's Kibana searches): reads, changes "
      "nothing (tests/test_service.py)"),
    N(EVENT_RULE, "eventPattern", "content",
      "which events notify (failed deployments); alert content tested in tests/test_observability.py"),
    N(EVENT_TARGET, "arn", "wiring", "the alert topic"),
    N(EVENT_TARGET, "rule", "wiring", "the rule delivering to it"),
    N(EVENT_TARGET, "inputTransformer", "content", "the alert's message text"),
    N(ALARM, "", "content",
      "what an alarm watches and when it fires (thresholds, periods, dimensions, metric math) is observability "
      "content, tested in tests/test_observability.py; that it notifies is guarded"),
    N(SUBSCRIPTION, "", "wiring", "who is paged (stack config)"),
    N(AMP_WORKSPACE, "alias", "identity", "the workspace's display name"),
    N(AMP_CONFIGURATION, "workspaceId", "wiring", "the workspace configured"),
    N(AMP_CONFIGURATION, "retentionPeriodInDays", "capacity",
      "how long metric history is kept (cost; AMP's default 150 days); alerts evaluate the last minutes"),
    N(AMP_CONFIGURATION, "limitsPerLabelSets", "capacity",
      "active-series ceilings per job: a cardinality and cost cap (ingestion beyond it is refused, not billed)"),
    N(AMP_RULES, "data", "content",
      "which Prometheus alerts fire and when (thresholds are settings; tests/test_app_metrics.py); that the "
      "workspace has rules and routes them to the alert topic is guarded"),
    N(GRAFANA, "authenticationProviders", "layout",
      "Grafana signs users in only through IAM Identity Center or SAML (it has no local users): no weaker choice "
      "exists to guard; AppMetricsSettings validates the pair with its group ids"),
    N(GRAFANA, "dataSources", "wiring",
      "the data source types offered (Prometheus); with CUSTOMER_MANAGED permissions AWS attaches no policy for "
      "them: the workspace role's grants are guarded"),
    N(GRAFANA_ROLE_ASSOCIATION, "", "wiring",
      "which Identity Center groups get ADMIN or VIEWER in Grafana (stack config, like who is paged)"),
    N(GRAFANA_SAML, "workspaceId", "wiring", "the Grafana workspace"),
    N(GRAFANA_SAML, "roleAssertion", "wiring", "the SAML attribute that carries a user's role"),
    N(GRAFANA_SAML, "adminRoleValues", "wiring", "which IdP roles administer Grafana (stack config)"),
    N(GRAFANA_SAML, "editorRoleValues", "wiring", "which IdP roles edit dashboards (stack config)"),
    N(TOPIC, "displayName", "identity", "the topic's display name"),
    N(TOPIC_POLICY, "arn", "wiring", "the topic the policy belongs to"),
    # --- network -----------------------------------------------------------------------------------------------------
    N((DEFAULT_SG, SG, IGW, ROUTE_TABLE, SUBNET, ENDPOINT, TARGET_GROUP), "vpcId", "wiring", "the VPC"),
    N(EIP, "domain", "layout", "an Elastic IP in the VPC (the only kind there is)"),
    N(FLOW_LOG, "logDestination", "wiring", "the flow log group (its retention and key are guarded)"),
    N(FLOW_LOG, "logDestinationType", "wiring", "flow logs go to CloudWatch Logs"),
    N(FLOW_LOG, "iamRoleArn", "wiring", "the role that delivers flow logs"),
    N(FLOW_LOG, "maxAggregationInterval", "tuning", "capture window (60 or 600 s): granularity against cost"),
    N(FLOW_LOG, "logFormat", "content",
      "the record's fields (network.FLOW_LOG_FORMAT, version 5 for incident response; tests/test_network.py)"),
    N(NAT, "", "layout", "NAT gateways: the private tier's way out, placed per AZ"),
    N(ROUTE, "", "layout", "routes of the public and private tiers (the data tier has none: guarded)"),
    N(ROUTE_TABLE_ASSOCIATION, "", "layout", "which subnet uses which route table"),
    N(SUBNET, "availabilityZone", "layout", "subnet placement"),
    N(SUBNET, "cidrBlock", "layout", "subnet addressing"),
    N(VPC, "cidrBlock", "layout", "VPC addressing"),
    N(VPC, "enableDnsHostnames", "layout",
      "a prerequisite of private DNS for interface endpoints (guarded); wrong values fail deploys visibly"),
    N(VPC, "enableDnsSupport", "layout", "a prerequisite of the VPC resolver; wrong values fail deploys visibly"),
    N(ENDPOINT, "serviceName", "wiring", "which AWS service the endpoint reaches"),
    N(ENDPOINT, "vpcEndpointType", "wiring", "gateway (S3) or interface endpoint"),
    N(ENDPOINT, "routeTableIds", "wiring", "route tables of a gateway endpoint"),
    N(ENDPOINT, "subnetIds", "wiring", "subnets of an interface endpoint"),
    N(ENDPOINT, "securityGroupIds", "wiring", "the endpoints' security group (its rules are guarded)"),
    N((INGRESS_RULE, EGRESS_RULE), "securityGroupId", "wiring", "the group the rule belongs to"),
    N(EGRESS_RULE, "referencedSecurityGroupId", "wiring",
      "egress to another security group: as narrow as that group's own ingress (guarded there)"),
    N(EGRESS_RULE, "cidrIpv4", "layout",
      "where address-range egress goes; its protocol and ports are what is guarded (security-group-egress-restricted)"),
    # --- load balancer ----------------------------------------------------------------------------------------------
    N(LB, "accessLogs.prefix", "wiring", "the key prefix of the access logs"),
    N(LB, "enableHttp2", "tuning", "protocol feature"),
    N(LB, "idleTimeout", "tuning", "connection idle timeout (long AI answers)"),
    N(LB, "internal", "layout", "the internet-facing entry point by design; the network rules guard what it admits"),
    N(LB, "ipAddressType", "layout", "IPv4 addressing"),
    N(LB, "loadBalancerType", "layout", "an application load balancer"),
    N(LB, "preserveHostHeader", "application", "NextAuth builds callback URLs from the Host header"),
    N(LB, "securityGroups", "wiring", "the ALB's security group (its rules are guarded)"),
    N(LB, "subnets", "layout", "the public subnets"),
    N(LISTENER, "loadBalancerArn", "wiring", "the listener's load balancer"),
    N(LISTENER, "port", "layout", "80 and 443"),
    N(LISTENER, "defaultActions[*].redirect.path", "wiring", "the redirect keeps the path"),
    N(LISTENER, "defaultActions[*].redirect.port", "wiring", "the redirect goes to 443"),
    N(LISTENER, "defaultActions[*].redirect.query", "wiring", "the redirect keeps the query"),
    N(LISTENER, "defaultActions[*].redirect.statusCode", "tuning", "permanent (301) or temporary redirect"),
    N(LISTENER, "defaultActions[*].fixedResponse", "content", "the body of the answer to unknown hosts"),
    N(LISTENER_RULE, "actions", "wiring", "where the site's requests go (the target group)"),
    N(LISTENER_RULE, "listenerArn", "wiring", "the rule's listener"),
    N(TARGET_GROUP, "healthCheck.healthyThreshold", "tuning", "health check timing"),
    N(TARGET_GROUP, "healthCheck.unhealthyThreshold", "tuning", "health check timing"),
    N(TARGET_GROUP, "healthCheck.interval", "tuning", "health check timing"),
    N(TARGET_GROUP, "healthCheck.timeout", "tuning", "health check timing"),
    N(TARGET_GROUP, "healthCheck.matcher", "tuning", "healthy status codes"),
    N(TARGET_GROUP, "healthCheck.port", "wiring", "the traffic port"),
    N(TARGET_GROUP, "healthCheck.protocol", "layout", "HTTP inside the VPC"),
    N(TARGET_GROUP, "protocol", "layout",
      "TLS ends at the ALB; ALB to task traffic stays in private subnets (Checkov CKV_AWS_378 asks for TLS to the "
      "targets: declined, documented in docs/architecture.md)"),
    N(TARGET_GROUP, "protocolVersion", "tuning", "HTTP/1.1 to the targets"),
    N(TARGET_GROUP, "port", "layout", "the web port"),
    N(TARGET_GROUP, "targetType", "layout", "Fargate tasks are IP targets"),
    N(TARGET_GROUP, "deregistrationDelay", "tuning", "connection draining time"),
    N(TARGET_GROUP, "loadBalancingAlgorithmType", "tuning", "least outstanding requests"),
    N(TARGET_GROUP, "stickiness", "tuning", "off: sessions live in Redis"),
    N(WEB_ACL, "scope", "layout", "a regional web ACL (in front of the ALB)"),
    N(WEB_ACL, "defaultAction", "layout", "allow by default, the rules block: the standard shape"),
    N(WEB_ACL, "customResponseBodies", "content", "the 429 body of rate-limited requests"),
    N(WEB_ACL, "rules[*].name", "identity", "a rule's name"),
    N(WEB_ACL, "rules[*].priority", "structure", "rule order (reputation first, rate limits, managed groups)"),
    N(WEB_ACL, "rules[*].action.block.customResponse", "content", "the 429 answer and its Retry-After header"),
    N(WEB_ACL, "rules[*].statement.rateBasedStatement.limit", "tuning",
      "per-IP request limits are settings (components/waf.py validates them); that rate rules exist is guarded"),
    N(WEB_ACL, "rules[*].statement.rateBasedStatement.evaluationWindowSec", "tuning", "rate window (settings)"),
    N(WEB_ACL, "rules[*].statement.rateBasedStatement.scopeDownStatement", "tuning",
      "which paths a stricter limit covers (/api/, /api/chat)"),
    N(WEB_ACL, "rules[*].visibilityConfig", "content", "per-rule metrics for the dashboard and alarms"),
    N(WEB_ACL, "visibilityConfig", "content", "web ACL metrics for the dashboard and alarms"),
    N(WEB_ACL_ASSOCIATION, "webAclArn", "wiring", "the web ACL associated (the association itself is guarded)"),
    N(WAF_LOGGING, "logDestinationConfigs", "wiring", "the WAF log group (its retention and key are guarded)"),
    N(LOG_RESOURCE_POLICY, "policyDocument<json>.Statement[*].Action", "structure",
      "the delivery actions granted (create stream, put events) to the scoped principal"),
    N(LOG_RESOURCE_POLICY, "policyDocument<json>.Statement[*].Resource", "wiring", "the WAF log group"),
    N(LOG_RESOURCE_POLICY, "policyDocument<json>.Statement[*].Effect", "structure", "an Allow grant"),
    N(LOG_RESOURCE_POLICY, "policyName", "identity", "the resource policy's name"),
    # --- containers -------------------------------------------------------------------------------------------------
    N(CLUSTER, "serviceConnectDefaults", "wiring", "the Service Connect namespace"),
    N(CAPACITY_PROVIDERS, "", "capacity", "Fargate or Fargate Spot: cost and capacity"),
    N(SERVICE, "cluster", "wiring", "the cluster"),
    N(SERVICE, "taskDefinition", "wiring", "the task definition (guarded on its own)"),
    N(SERVICE, "deploymentMaximumPercent", "capacity", "surge capacity during a deployment"),
    N(SERVICE, "healthCheckGracePeriodSeconds", "tuning", "time a new task gets before health checks count"),
    N(SERVICE, "loadBalancers", "wiring", "the target group and container port"),
    N(SERVICE, "networkConfiguration.securityGroups", "wiring", "the service's security group (rules guarded)"),
    N(SERVICE, "networkConfiguration.subnets", "layout", "the private app subnets"),
    N(SERVICE, "enableEcsManagedTags", "tuning", "ECS tags tasks (cost allocation of tasks, not a resource tag)"),
    N(SERVICE, "propagateTags", "tuning", "tags copied to tasks (cost allocation)"),
    N(SERVICE, "serviceConnectConfiguration.enabled", "wiring", "service-to-service discovery"),
    N(SERVICE, "serviceConnectConfiguration.namespace", "wiring", "the Service Connect namespace"),
    N(SERVICE, "serviceConnectConfiguration.services", "wiring", "the names and ports a service offers"),
    N(SERVICE, "serviceConnectConfiguration.logConfiguration.options.awslogs-group", "wiring", "the proxy's log group"),
    N(SERVICE, "serviceConnectConfiguration.logConfiguration.options.awslogs-region", "wiring", "the log region"),
    N(SERVICE, "serviceConnectConfiguration.logConfiguration.options.awslogs-stream-prefix", "wiring",
      "the proxy's log stream prefix"),
    N(TASK, "cpu", "capacity", "task size"),
    N(TASK, "memory", "capacity", "task size"),
    N(TASK, "family", "identity", "the task definition family"),
    N(TASK, "skipDestroy", "pulumi", "a replaced revision stays ACTIVE for the rollback runbook's emergency path"),
    N(TASK, "networkMode", "layout", "awsvpc: the only mode Fargate has"),
    N(TASK, "requiresCompatibilities", "layout", "Fargate"),
    N(TASK, "runtimePlatform", "capacity", "ARM64 Linux (cost)"),
    N(TASK, "volumes", "wiring", "the scratch volumes a read-only root filesystem needs"),
    N(TASK, "ephemeralStorage", "capacity", "task scratch disk size"),
    N(TASK, f"{CONTAINER}.cpu", "capacity", "a sidecar's reserved share of the task's CPU"),
    N(TASK, f"{CONTAINER}.memory", "capacity", "a sidecar's hard memory limit within the task"),
    N(TASK, f"{CONTAINER}.name", "identity", "the container's name"),
    N(TASK, f"{CONTAINER}.essential", "structure", "the task stops when this container stops"),
    N(TASK, f"{CONTAINER}.healthCheck.interval", "tuning", "health check timing (the seed's 30 s)"),
    N(TASK, f"{CONTAINER}.healthCheck.retries", "tuning", "health check timing (the seed's 3)"),
    N(TASK, f"{CONTAINER}.healthCheck.startPeriod", "tuning", "health check timing (the seed's 40 s)"),
    N(TASK, f"{CONTAINER}.healthCheck.timeout", "tuning", "health check timing (the seed's 10 s)"),
    N(TASK, f"{CONTAINER}.logConfiguration.options.awslogs-group", "wiring", "the container's log group"),
    N(TASK, f"{CONTAINER}.logConfiguration.options.awslogs-region", "wiring", "the log region"),
    N(TASK, f"{CONTAINER}.logConfiguration.options.awslogs-stream-prefix", "wiring", "the log stream prefix"),
    N(TASK, f"{CONTAINER}.logConfiguration.options.max-buffer-size", "tuning",
      "the non-blocking log buffer (what a log outage may drop)"),
    N(TASK, f"{CONTAINER}.mountPoints", "wiring", "the writable scratch paths of a read-only root filesystem"),
    N(TASK, f"{CONTAINER}.portMappings", "application", "the port the app listens on"),
    N(TASK, f"{CONTAINER}.secrets", "wiring",
      "which Secrets Manager entries become which variables (their encryption is guarded on the secrets)"),
    N(TASK, f"{CONTAINER}.stopTimeout", "tuning", "time to finish in-flight work on SIGTERM"),
    N(TASK, f"{CONTAINER}.restartPolicy", "tuning",
      "a sidecar restarted in place after a crash (FargateTaskArgs requires it of every non-essential sidecar)"),
    N(ECR_LIFECYCLE, "", "tuning", "image housekeeping: how many old images are kept (cost)"),
    N(SCHEDULE, "flexibleTimeWindow", "schedule", "exact start time"),
    N(SCHEDULE, "scheduleExpression", "schedule", "how often the job runs (a setting; the missing-backup alarm "
                                                  "watches the result)"),
    N(SCHEDULE, "scheduleExpressionTimezone", "schedule", "UTC"),
    N(SCHEDULE, "target.arn", "wiring", "the cluster"),
    N(SCHEDULE, "target.roleArn", "wiring", "the role the scheduler runs the task with"),
    N(SCHEDULE, "target.ecsParameters.launchType", "capacity", "Fargate"),
    N(SCHEDULE, "target.ecsParameters.networkConfiguration.securityGroups", "wiring", "the task's security group"),
    N(SCHEDULE, "target.ecsParameters.networkConfiguration.subnets", "layout", "the private app subnets"),
    N(SCHEDULE, "target.ecsParameters.propagateTags", "tuning", "tags copied to tasks (cost allocation)"),
    N(SCHEDULE, "target.ecsParameters.taskCount", "capacity", "one task per run"),
    N(SCHEDULE, "target.ecsParameters.taskDefinitionArn", "wiring", "the task definition (guarded on its own)"),
    N(SCHEDULE, "target.retryPolicy", "tuning", "retries of a failed start"),
    N(IMAGE, "build", "application", "how the backup image is built"),
    N(IMAGE, "buildOnPreview", "tuning", "build only on update"),
    N(IMAGE, "skipPush", "tuning", "push the image"),
    N(IMAGE, "imageName", "wiring", "the repository the image is pushed to"),
    N(IMAGE, "registry.server", "wiring", "the registry"),
    N(IMAGE, "registry.username", "wiring", "ECR's fixed user name (AWS)"),
    # --- data -----------------------------------------------------------------------------------------------------
    N(DB, "allocatedStorage", "capacity", "initial storage"),
    N(DB, "availabilityZone", "layout", "replica placement"),
    N(DB, "backupWindow", "schedule", "daily backup window"),
    N(DB, "dbName", "identity", "the database's name"),
    N(DB, "identifier", "identity", "the instance identifier"),
    N(DB, "username", "identity", "the master user's name (the password is generated and guarded)"),
    N(DB, "engine", "layout", "PostgreSQL"),
    N(DB, "engineVersion", "layout", "the major version is a setting; minor (security) upgrades are guarded"),
    N(DB, "instanceClass", "capacity", "instance size"),
    N(DB, "storageType", "capacity", "gp3"),
    N(DB, "monitoringRoleArn", "wiring", "the enhanced monitoring role (the interval is guarded)"),
    N(DB, "performanceInsightsRetentionPeriod", "tuning", "the free 7 days of Performance Insights history"),
    N(DB, "port", "layout", "the PostgreSQL port (cdk-nag RDS11's non-default port is obscurity: declined)"),
    N(DB, "vpcSecurityGroupIds", "wiring", "the database's security group (its ingress is guarded)"),
    *(N(DB_PARAMETERS, f"parameters[name={name}]", "tuning", "memory/planner tuning of the seed's postgresql.conf")
      for name in ("shared_buffers", "wal_buffers", "effective_cache_size", "maintenance_work_mem",
                   "checkpoint_completion_target", "default_statistics_target")),
    N(DB_PARAMETERS, "parameters[name=max_connections]", "capacity", "the connection budget (sized to the pool)"),
    N(CACHE_PARAMETERS, "parameters[name=maxmemory-policy]", "application",
      "eviction policy of a cache (allkeys-lru): app semantics"),
    N(CACHE_PARAMETERS, "parameters[name=timeout]", "tuning", "idle client timeout"),
    N(CACHE_PARAMETERS, "parameters[name=tcp-keepalive]", "tuning", "TCP keepalive"),
    N(CACHE_PARAMETERS, "parameters[name=cluster-enabled]", "layout", "cluster mode off (one shard)"),
    N(REDIS, "clusterMode", "layout", "one shard with replicas"),
    N(REDIS, "engine", "layout", "Redis"),
    N(REDIS, "engineVersion", "layout", "the major version is a setting; minor upgrades are guarded"),
    N(REDIS, "maintenanceWindow", "schedule", "weekly maintenance window"),
    N(REDIS, "snapshotWindow", "schedule", "daily snapshot window"),
    N(REDIS, "nodeType", "capacity", "node size"),
    N(REDIS, "numCacheClusters", "capacity", "nodes (failover needs two or more: AWS enforces it)"),
    N(REDIS, "parameterGroupName", "wiring", "the stack's parameter group"),
    N(REDIS, "port", "layout", "the Redis port (cdk-nag AEC5's non-default port is obscurity: declined)"),
    N(REDIS, "preferredCacheClusterAzs", "layout", "node placement"),
    N(REDIS, "replicationGroupId", "identity", "the group's identifier"),
    N(REDIS, "securityGroupIds", "wiring", "the cache's security group (its ingress is guarded)"),
    # --- storage ------------------------------------------------------------------------------------------------------
    N(BUCKET, "bucketPrefix", "identity", "the bucket's name prefix"),
    N(LIFECYCLE, "rules[*].id", "identity", "a lifecycle rule's name"),
    N(LIFECYCLE, "rules[*].filter", "wiring", "which objects a rule covers (all)"),
    N(LIFECYCLE, "rules[*].transitions", "capacity", "storage-class transitions (cost)"),
    N(LIFECYCLE, "rules[*].expiration.expiredObjectDeleteMarker", "tuning", "removes expired delete markers"),
    N(BUCKET_LOGGING, "targetBucket", "wiring", "the access-log bucket"),
    N(BUCKET_LOGGING, "targetPrefix", "wiring", "the key prefix of the access logs"),
    N(BUCKET_LOGGING, "targetObjectKeyFormat", "tuning", "date-partitioned keys (for Athena)"),
    N(BUCKET_POLICY, "policy<json>.Statement[*].Action", "structure",
      "the actions a statement covers; what makes each statement safe (its Deny condition, its principal and "
      "confused-deputy conditions) is guarded"),
    N(BUCKET_POLICY, "policy<json>.Statement[*].Resource", "wiring", "the bucket and its objects"),
    N(TOPIC_POLICY, "policy<json>.Statement[*].Action", "structure", "sns:Publish"),
    N(TOPIC_POLICY, "policy<json>.Statement[*].Resource", "wiring", "the topic"),
    N(BUDGET, "budgetType", "content", "COST: the stack's spend in USD (components/observability.py _cost_budget)"),
    N(BUDGET, "costFilters[*].name", "wiring", "TagKeyValue: the budget counts what carries the stack's `stack` tag"),
    N(BUDGET, "costFilters[*].values", "wiring", "user:stack$<stack>: this stack's tag value"),
    N(BUDGET, "limitAmount", "tuning", "costBudgetUsd: the monthly limit the notices compare with"),
    N(BUDGET, "limitUnit", "structure", "USD"),
    N(BUDGET, "timeUnit", "schedule", "MONTHLY: the budget resets each calendar month"),
    N(BUDGET, "notifications[*].comparisonOperator", "content", "GREATER_THAN the threshold"),
    N(BUDGET, "notifications[*].notificationType", "content", "FORECASTED and ACTUAL notices"),
    N(BUDGET, "notifications[*].threshold", "tuning", "percent of the limit (BUDGET_NOTIFICATIONS)"),
    N(BUDGET, "notifications[*].thresholdType", "structure", "PERCENTAGE of the limit"),
    N(BUDGET, "notifications[*].subscriberSnsTopicArns", "wiring",
      "the alert topic (its policy and key admitting Budgets are guarded: kms-key-serves-its-users)"),
    N((KEY, REPLICA_KEY), "policy<json>.Statement[*].Action", "structure",
      "kms:* for the account root is AWS's default delegation to IAM; service grants are limited by their principal "
      "and conditions (guarded)"),
    N((KEY, REPLICA_KEY), "policy<json>.Statement[*].Resource", "structure", "`*` in a key policy means this key"),
    N(KEY, "multiRegion", "layout",
      "the foundation secrets key is multi-Region from creation (immutable), so a replica in the state replica's "
      "region can open the foundation's checkpoint with this region down"),
    N(REPLICA_KEY, "primaryKeyArn", "wiring", "the multi-Region key it copies"),
    N(ALIAS, "targetKeyId", "wiring", "the key the alias names"),
    # --- identity and secrets ---------------------------------------------------------------------------------------
    N(ROLE, "assumeRolePolicy<json>.Statement[*].Action", "structure", "sts:AssumeRole"),
    N(ROLE, "assumeRolePolicy<json>.Statement[*].Effect", "structure",
      "Allow (a Deny would lock the service out: it fails loudly, it cannot weaken)"),
    N((KEY, REPLICA_KEY), "policy<json>.Statement[*].Effect", "structure",
      "Allow grants (a Deny only takes rights away; the grants' scope is guarded)"),
    N(ROLE_POLICY, "role", "wiring", "the role the policy belongs to"),
    N(ATTACHMENT, "role", "wiring", "the role the managed policy is attached to"),
    N(ROLE_POLICY, "policy<json>.Statement[*].Condition", "tuning",
      "narrows statements whose actions and resources are already scoped (kms:ViaService, ecs:cluster, "
      "cloudwatch:namespace); iam:PassedToService is guarded on its own"),
    N(SECRET_VERSION, "secretId", "wiring", "the secret the value belongs to"),
    N(SECRET_VERSION, "secretString", "application",
      "the secret's value: generated or from Pulumi config secrets (the pack sees no difference to a literal)"),
    N(RANDOM_ID, "byteLength", "identity", "the length of a built image's tag suffix (a name part, not a secret)"),
    N(RANDOM_ID, "keepers", "identity", "a new suffix exactly when the image's build context or platform changes"),
    N(RANDOM_PASSWORD, "special", "tuning", "character classes; strength comes from the length (guarded)"),
    N(RANDOM_PASSWORD, "overrideSpecial", "tuning",
      "the specials a consumer accepts (ElastiCache AUTH: ! & # $ ^ < > -; URLs: - _ . ~)"),
    N(RANDOM_PASSWORD, "minLower", "tuning", "character classes; strength comes from the length (guarded)"),
    N(RANDOM_PASSWORD, "minUpper", "tuning", "character classes; strength comes from the length (guarded)"),
    N(RANDOM_PASSWORD, "minNumeric", "tuning", "character classes; strength comes from the length (guarded)"),
    N(RANDOM_PASSWORD, "minSpecial", "tuning", "character classes; strength comes from the length (guarded)"),
    N(RANDOM_PASSWORD, "lower", "tuning", "character classes; strength comes from the length (guarded)"),
    N(RANDOM_PASSWORD, "upper", "tuning",
      "character classes (the origin secret is lower case and digits: HTTP header values are compared exactly); "
      "strength comes from the length (guarded)"),
    N(RANDOM_PASSWORD, "numeric", "tuning", "character classes; strength comes from the length (guarded)"),
    N(RANDOM_PASSWORD, "keepers", "pulumi",
      "the origin secret slot's rotation generation: a new value when it changes (docs/cdn.md, rotation)"),
    # --- CDN (issue 13.1): the controls are guarded by the cdn-* rules; what is left is the distribution's layout ---
    N(ANY_TYPE, "comment", "identity", "a human description (CloudFront's name for it)"),
    N(DISTRIBUTION, "aliases", "identity", "the app's domain name"),
    N(DISTRIBUTION, "customErrorResponses", "tuning",
      "5xx from the origin are not cached (errorCachingMinTtl 0): availability, not protection"),
    N(DISTRIBUTION, "defaultCacheBehavior.allowedMethods", "application", "every method the app serves"),
    N(DISTRIBUTION, "defaultCacheBehavior.cachedMethods", "application",
      "GET/HEAD (the default behavior caches nothing: its cache policy is guarded)"),
    N(DISTRIBUTION, "defaultCacheBehavior.compress", "tuning", "gzip/brotli at the edge"),
    N(DISTRIBUTION, "defaultCacheBehavior.originRequestPolicyId", "application",
      "what the app receives (cookies, headers: sessions need them); the default behavior caches nothing (guarded)"),
    N(DISTRIBUTION, "defaultCacheBehavior.targetOriginId", "wiring", "the ALB origin"),
    N(DISTRIBUTION, "orderedCacheBehaviors[*].allowedMethods", "application", "static paths: GET/HEAD(/OPTIONS)"),
    N(DISTRIBUTION, "orderedCacheBehaviors[*].cachedMethods", "application", "GET/HEAD"),
    N(DISTRIBUTION, "orderedCacheBehaviors[*].cachePolicyId", "application",
      "how long static assets are cached; caching together with cookie forwarding is guarded on "
      "originRequestPolicyId (cdn-dynamic-not-cached), the stack's own cache keys by cdn-cache-keys-without-cookies"),
    N(DISTRIBUTION, "orderedCacheBehaviors[*].compress", "tuning", "gzip/brotli at the edge"),
    N(DISTRIBUTION, "orderedCacheBehaviors[*].pathPattern", "layout", "the app's static paths (_next/static, ...)"),
    N(DISTRIBUTION, "orderedCacheBehaviors[*].targetOriginId", "wiring", "the ALB origin"),
    N(DISTRIBUTION, "enabled", "layout", "the distribution serves (false takes the site down; not a weakening)"),
    N(DISTRIBUTION, "httpVersion", "layout", "HTTP/2 and HTTP/3 to viewers (TLS 1.2+ is guarded by cdn-viewer-tls)"),
    N(DISTRIBUTION, "isIpv6Enabled", "layout", "AAAA records point here (PublicDns)"),
    N(DISTRIBUTION, "origins[*].connectionAttempts", "tuning", "CloudFront's retries to the origin"),
    N(DISTRIBUTION, "origins[*].connectionTimeout", "tuning", "seconds to connect to the origin"),
    N(DISTRIBUTION, "origins[*].customOriginConfig.httpPort", "layout",
      "required by the API; unused with https-only (guarded)"),
    N(DISTRIBUTION, "origins[*].customOriginConfig.httpsPort", "layout", "443"),
    N(DISTRIBUTION, "origins[*].customOriginConfig.originKeepaliveTimeout", "tuning",
      "below the ALB idle timeout (config-validated: _cdn_rules in stack_config.py)"),
    N(DISTRIBUTION, "origins[*].customOriginConfig.originReadTimeout", "tuning",
      "a hop of the edge timeout chain (check_timeout_chain); ecs-service-connect-timeout-covers-edge reads it"),
    N(DISTRIBUTION, "origins[*].domainName", "wiring", "the ALB's DNS name"),
    N(DISTRIBUTION, "origins[*].originId", "identity", "the origin's label"),
    N(DISTRIBUTION, "priceClass", "capacity", "edge locations billed (PriceClass_100: North America and Europe)"),
    N(DISTRIBUTION, "restrictions", "layout", "no geo restriction (the seed names none)"),
    N(DISTRIBUTION, "viewerCertificate.sslSupportMethod", "layout",
      "SNI (a dedicated-IP certificate costs $600/month and serves only pre-SNI clients)"),
    N(DISTRIBUTION, "waitForDeployment", "pulumi", "the update waits until every edge serves the new config"),
    N(CACHE_POLICY, "minTtl", "tuning", "0: the origin's no-store wins"),
    N(CACHE_POLICY, "defaultTtl", "tuning", "how long optimized images are cached without a Cache-Control"),
    N(CACHE_POLICY, "maxTtl", "tuning", "a year at most (image URLs carry the source's hash)"),
    N(CACHE_POLICY, "parametersInCacheKeyAndForwardedToOrigin.enableAcceptEncodingBrotli", "tuning", "compression"),
    N(CACHE_POLICY, "parametersInCacheKeyAndForwardedToOrigin.enableAcceptEncodingGzip", "tuning", "compression"),
    N(CACHE_POLICY, "parametersInCacheKeyAndForwardedToOrigin.headersConfig", "application",
      "Accept (the image optimizer negotiates WebP/AVIF)"),
    N(CACHE_POLICY, "parametersInCacheKeyAndForwardedToOrigin.queryStringsConfig", "application",
      "url, w and q select the image"),
    N(HEADERS_POLICY, "securityHeadersConfig.xssProtection", "content",
      "X-XSS-Protection: a legacy header current browsers ignore; the CSP (guarded) is the XSS control"),
    N(MONITORING_SUBSCRIPTION, "distributionId", "wiring", "the distribution"),
    N(MONITORING_SUBSCRIPTION, "monitoringSubscription", "content",
      "CloudFront's additional metrics (origin latency, cache hit rate: the cdn-origin-latency alarm; "
      "tests/test_observability.py)"),
    N(LOG_DELIVERY, "deliverySourceName", "wiring",
      "the distribution's log source (dropping the source is guarded by cdn-access-logs)"),
    N(LOG_DELIVERY, "deliveryDestinationArn", "wiring", "the access-log bucket's delivery destination"),
    N(LOG_DELIVERY, "s3DeliveryConfigurations", "layout", "object key layout in the log bucket"),
    N(LOG_DESTINATION, "deliveryDestinationConfiguration.destinationResourceArn", "wiring",
      "the access-log bucket (its hardening is guarded by the s3-* rules)"),
    N(LOG_DESTINATION, "outputFormat", "layout", "Parquet"),
    # --- disaster recovery (issue 13.3): the controls are guarded by the recovery rules ---------------------------
    N(ANY_TYPE, "region", "layout",
      "the Region a resource is managed in (pulumi-aws v7): the DR copy in drRegion (config-validated: "
      "dr_region_problem refuses the stack's own Region; s3-data-buckets-replicated refuses a same-Region replica), "
      "the edge key and alarms in us-east-1"),
    N(S3_REPLICATION, "role", "wiring", "the replication role (its grants are guarded by the IAM rules)"),
    N(S3_REPLICATION, "rules[*].destination.bucket", "wiring", "the replica bucket in the DR region"),
    N(S3_REPLICATION, "rules[*].destination.storageClass", "capacity", "STANDARD_IA for the copy"),
    N(S3_REPLICATION, "rules[*].filter", "layout", "{}: every object of the bucket"),
    N(S3_REPLICATION, "rules[*].id", "identity", "the rule's name"),
    N(S3_REPLICATION, "rules[*].priority", "structure", "one rule per bucket"),
    N(RDS_INSTANCE, "restoreToPointInTime", "wiring",
      "the DR stack's restore source (replicated backups, latest restorable time); Pulumi.dr.yaml only"),
    # --- database access and credentials (issue 11): TLS, SCRAM, rotation, RBAC, VPC functions are guarded ----------
    N(PROXY, "auths[*].iamAuth", "tuning",
      "IAM database authentication off: logins are SCRAM passwords from Secrets Manager (authScheme and "
      "clientPasswordAuthType are guarded by rds-proxy-tls)"),
    N(PROXY, "auths[*].secretArn", "wiring", "the login's secret (its rotation is guarded by secrets-rotated)"),
    N(PROXY, "auths[*].description", "identity", "the login's label"),
    N(PROXY, "engineFamily", "layout", "POSTGRESQL"),
    N(PROXY, "idleClientTimeout", "tuning", "idle client connections are closed after it"),
    N(PROXY, "roleArn", "wiring", "the role that reads the login secrets (its grants: the IAM rules)"),
    N(PROXY, "vpcSecurityGroupIds", "wiring", "the proxy's security group (its rules: the network rules)"),
    N(PROXY, "vpcSubnetIds", "layout", "the data subnets (data-subnets-isolated guards the tier)"),
    N(PROXY_POOL, "connectionPoolConfig", "capacity",
      "the connection budget (components/connection_budget.py, validated with the config)"),
    N(PROXY_POOL, "dbProxyName", "wiring", "the proxy"),
    N(PROXY_TARGET, "dbProxyName", "wiring", "the proxy (the target itself is guarded by rds-services-through-proxy)"),
    N(PROXY_TARGET, "targetGroupName", "wiring", "the proxy's default target group"),
    N(PROXY, "@ignoreChanges", "pulumi", "vpcSubnetIds: fixed at creation (a change would replace the proxy, "
      "delete-first)"),
    N(DB, "@ignoreChanges", "pulumi", "password: after the first deploy the master password belongs to its rotation"),
    N(ROTATION, "rotateImmediately", "schedule", "false: the first rotation waits for the schedule"),
    N(ROTATION, "rotationLambdaArn", "wiring", "db-admin or redis-rotation"),
    N(ROTATION, "rotationRules.duration", "schedule", "the rotation window"),
    N(SECRET_VERSION, "@ignoreChanges", "pulumi", "initial-only values: the rotation owns them after creation"),
    N(SECRET_VERSION, "versionStages", "structure", "AWSCURRENT on the initial version"),
    N(CACHE_USER, "@ignoreChanges", "pulumi", "passwords: after creation they belong to redis-rotation"),
    N(CACHE_USER, "engine", "layout", "redis"),
    N((CACHE_USER, CACHE_USER_GROUP), "userId", "identity", "the user's id"),
    N(CACHE_USER, "userName", "identity", "the user's login name"),
    N(CACHE_USER_GROUP, "engine", "layout", "redis"),
    N(CACHE_USER_GROUP, "userGroupId", "identity", "the group's id"),
    N(CACHE_USER_GROUP, "userIds", "wiring",
      "the members (redis-rbac-default-user-off checks the disabled `default` user is one of them)"),
    N(FUNCTION, "architectures", "capacity", "arm64"),
    N(FUNCTION, "code", "application",
      "the db-admin / redis-rotation package, built from the virtualenv at `pulumi up` (pinned versions checked)"),
    N(FUNCTION, "environment.variables", "wiring", "which secret the function administers (its role's grant decides)"),
    N(FUNCTION, "handler", "application", "the entry point"),
    N(FUNCTION, "loggingConfig.applicationLogLevel", "tuning", "log verbosity"),
    N(FUNCTION, "loggingConfig.systemLogLevel", "tuning", "log verbosity"),
    N(FUNCTION, "loggingConfig.logFormat", "tuning", "JSON"),
    N(FUNCTION, "memorySize", "capacity", "function size"),
    N(FUNCTION, "role", "wiring", "the function's role (its grants: the IAM rules)"),
    N(FUNCTION, "timeout", "tuning", "long enough for a rotation step"),
    N(INVOCATION, "functionName", "wiring", "db-admin"),
    N(INVOCATION, "input", "content",
      "the database bootstrap's payload: hosts, login names and secret ARNs, never a secret value"),
    N(INVOCATION, "triggers", "pulumi", "re-runs the bootstrap when the function's code changes"),
    N(PERMISSION, "action", "structure", "lambda:InvokeFunction"),
    N(PERMISSION, "function", "wiring", "the rotation function"),
    N(PERMISSION, "principal", "wiring",
      "secretsmanager.amazonaws.com (the sourceArn that scopes it is guarded by lambda-permission-source-scoped)"),
    N(EVENT_TARGET, "input", "content", "the cluster and service the secret-redeploy workflow redeploys"),
    N(EVENT_TARGET, "roleArn", "wiring", "the role EventBridge starts the workflow with (its grants: the IAM rules)"),
    N(STATE_MACHINE, "definition", "content",
      "the secret-redeploy workflow: ECS UpdateService forceNewDeployment with retries (tests/test_credentials.py)"),
    N(STATE_MACHINE, "loggingConfiguration.level", "tuning", "ERROR: failed redeploys are logged"),
    N(STATE_MACHINE, "loggingConfiguration.includeExecutionData", "tuning",
      "false: execution input and output stay out of the log (they hold only cluster and service names anyway)"),
    N(STATE_MACHINE, "loggingConfiguration.logDestination", "wiring", "its KMS-encrypted log group (logging rules)"),
    N(STATE_MACHINE, "roleArn", "wiring", "the workflow's role (its grants: the IAM rules)"),
    N(STATE_MACHINE, "type", "layout", "STANDARD"),
    # --- the foundation (bootstrap/: registry, CI identities, state bucket) ----------------------------------------
    N(REGISTRY_REPLICATION, "replicationConfiguration.rules[*].destinations", "layout",
      "where the registry copies images: the DR region of this account (drRegion; ops/verify.py dr.images checks "
      "the app stack's DR region is among them)"),
    N(REGISTRY_REPLICATION, "replicationConfiguration.rules[*].repositoryFilters", "wiring",
      "which repositories replicate: the project's prefix"),
    N(REGISTRY_SCANNING, "scanType", "tuning",
      "BASIC (free) or ENHANCED (Amazon Inspector, paid): how deep a scan goes; that images are scanned on push is "
      "guarded (ecr-registry-scan-on-push)"),
    N(REGISTRY_SCANNING, "rules[*].repositoryFilters", "wiring", "which repositories a scanning rule covers"),
    N(CREATION_TEMPLATE, "prefix", "wiring", "the repositories (by name prefix) the template creates"),
    N(CREATION_TEMPLATE, "appliedFors", "wiring", "REPLICATION: used when registry replication creates a repository"),
    N(CREATION_TEMPLATE, "encryptionConfigurations", "tuning",
      "AES256 (ECR's default server-side encryption): a CMK would have to exist in the DR region before the first "
      "replicated push; the source repositories' CMK is guarded (ecr-repository-hardened)"),
    N(CREATION_TEMPLATE, "lifecyclePolicy<json>.rules[*].description", "identity", "a lifecycle rule's label"),
    N(CREATION_TEMPLATE, "lifecyclePolicy<json>.rules[*].rulePriority", "structure",
      "rule order (the deployed-* rules coming first is guarded on the whole rule list)"),
    N(CREATION_TEMPLATE, "lifecyclePolicy<json>.rules[*].action", "structure", "expire (the only lifecycle action)"),
    N(CREATION_TEMPLATE, "lifecyclePolicy<json>.rules[*].selection", "tuning",
      "which images each rule keeps and how many (cost); the deployed-* rules ahead of any expiry are guarded"),
    N(CREATION_TEMPLATE, "repositoryPolicy<json>.Version", "structure", "the policy language version"),
    N(CREATION_TEMPLATE, "repositoryPolicy<json>.Statement[*].Sid", "identity", "a statement's label"),
    N(CREATION_TEMPLATE, "repositoryPolicy<json>.Statement[*].Effect", "structure",
      "Allow grants to the environment accounts on the DR replicas (who is admitted is guarded)"),
    N(CREATION_TEMPLATE, "repositoryPolicy<json>.Statement[*].Action", "structure",
      "pull, or pull and tag for the deploy roles; never push (images arrive by replication)"),
    N(CREATION_TEMPLATE, "repositoryPolicy<json>.Statement[*].Condition", "wiring",
      "which roles of the environment account (aws:PrincipalArn) in the organization (aws:PrincipalOrgID) may pull "
      "from the replicas; a grant to any principal without them is guarded (ecr-replica-template-hardened)"),
    N(REPOSITORY_POLICY, "@protect", "pulumi",
      "inherited from the protected repository (Pulumi protect is inherited); the repository's protection is guarded"),
    N(REPOSITORY_POLICY, "repository", "wiring", "the repository the policy belongs to"),
    N(REPOSITORY_POLICY, "policy<json>.Version", "structure", "the policy language version"),
    N(REPOSITORY_POLICY, "policy<json>.Statement[*].Sid", "identity", "a statement's label"),
    N(REPOSITORY_POLICY, "policy<json>.Statement[*].Effect", "structure",
      "Allow grants to the environment accounts (a Deny only takes rights away; who is admitted is guarded)"),
    N(REPOSITORY_POLICY, "policy<json>.Statement[*].Action", "structure",
      "pull, or pull and tag for the deploy roles (push is the foundation's CI only)"),
    N(REPOSITORY_POLICY, "policy<json>.Statement[*].Condition", "wiring",
      "which roles of the environment account (aws:PrincipalArn) in the organization (aws:PrincipalOrgID) may pull; "
      "a grant to any principal without them is guarded (ecr-repository-policy-not-public)"),
    N(OIDC_PROVIDER, "url", "wiring",
      "GitHub's issuer; the roles' trust conditions are keyed on it (guarded: oidc-trust-pins-repository-and-"
      "environment)"),
    N(ROLE, "maxSessionDuration", "tuning", "how long a CI job's credentials last (1-2 h: a deploy's length)"),
    N(ROLE, "assumeRolePolicy<json>.Statement[*].Sid", "identity", "a statement's label"),
    N(MANAGED_POLICY, "path", "identity", "the IAM path the boundaries live under (/maratron/...)"),
    N(MANAGED_POLICY, "policy<json>.Version", "structure", "the policy language version"),
    N(MANAGED_POLICY, "policy<json>.Statement[*].Sid", "identity", "a statement's label"),
    N((MANAGED_POLICY, ROLE_POLICY), "policy<json>.Statement[*].NotAction", "structure",
      "the exceptions of an explicit Deny (use the foundation's keys, pull and tag images); the Deny itself is "
      "guarded (ci-deploy-role-denies)"),
    N(MANAGED_POLICY, "policy<json>.Statement[*].Action", "structure",
      "what a permissions boundary lets through (a ceiling: the role's own policy grants); wildcard admin is "
      "checked by iam-no-wildcard-admin, the denies are guarded (ci-deploy-role-denies)"),
    N(MANAGED_POLICY, "policy<json>.Statement[*].Resource", "wiring",
      "the resources a boundary statement covers (the environment's names and paths)"),
    N(MANAGED_POLICY, "policy<json>.Statement[*].Condition", "tuning",
      "narrows ceilings whose actions are already scoped (aws:RequestedRegion, aws:ResourceTag/environment, "
      "kms:ViaService); iam:PassedToService is guarded on its own"),
    N(LIFECYCLE, "rules[*].noncurrentVersionExpiration.newerNoncurrentVersions", "tuning",
      "how many old state versions are kept whatever their age (the state bucket's recovery depth)"),
]

__all__ = ["ANY_TYPE", "CATEGORIES", "LEDGER", "Classified"]
