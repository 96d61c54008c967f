"""The app program's first box alone (a test program): the stack's config, the foundation, one AWS resource.

What __main__.py does before anything else, without the other ~240 resources: the foundation checks (contract,
account, images) and the gate every AWS resource waits behind. Tests of the checks' failures run this; tests of what
the stack builds on a good foundation run the real program.
"""

import pulumi
import pulumi_aws as aws

import stack_config
from components.base import AwsContext
from components.foundation import Foundation

config = stack_config.load()
foundation = Foundation(config.foundation, environment=config.environment,
                        context=AwsContext.lookup(config.region), images=config.image_sources)
aws.s3.Bucket("probe", bucket_prefix=f"{config.name_prefix}-probe-")  # must wait for the foundation's checks
pulumi.export("webImage", foundation.image_uri("web"))
