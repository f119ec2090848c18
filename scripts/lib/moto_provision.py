#!/usr/bin/env python3
"""Provisions a fresh moto S3 server for the tests: an IAM user allowed s3:*, its access key, and a bucket.

moto checks signatures only after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated calls; the calls below are those
(create user, attach policy, create key), so every request after them, the bucket creation included, must be
signed correctly with the new key, and a signing bug fails a test with SignatureDoesNotMatch.

Prints shell `export` lines for scripts/lib/moto.sh to eval.
"""
import json
import sys

import boto3
from botocore.config import Config

endpoint, bucket = sys.argv[1], sys.argv[2]
region = "us-east-1"
iam = boto3.client("iam", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="fac-test")
iam.put_user_policy(UserName="fac-test", PolicyName="fac-test-s3", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}))
key = iam.create_access_key(UserName="fac-test")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                  aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                  config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=bucket)
print(f"export FAC_TEST_S3_ENDPOINT={endpoint}")
print(f"export FAC_TEST_S3_BUCKET={bucket}")
print(f"export FAC_TEST_S3_REGION={region}")
print(f"export FAC_TEST_S3_ACCESS_KEY_ID={key['AccessKeyId']}")
print(f"export FAC_TEST_S3_SECRET_ACCESS_KEY={key['SecretAccessKey']}")
