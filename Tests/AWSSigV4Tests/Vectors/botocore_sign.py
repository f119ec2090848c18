"""Signs requests with botocore's S3 signers, as a second opinion for the AWSSigV4 tests.

Reads {"cases": [...]} as JSON on stdin and prints {"botocore_version": "...", "results": {"<id>": {...}}}
as JSON on stdout.
Each case: id, kind ("header" or "query"), method, url, headers [[name, value]], params [[name, value]],
body (UTF-8 text), unsigned_payload (bool, needs an https url), expires (query only), access_key, secret_key,
token (or null), region, timestamp (yyyyMMddTHHmmssZ).
A header case answers {"headers": {lowercase name: value}}, a query case {"url": "..."}.
"""

import datetime
import json
import sys

try:
    import botocore
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
except ImportError as error:  # the Swift test turns this into a failure with the message
    sys.exit(f"botocore is not importable by {sys.executable}: {error}")


def sign(case):
    timestamp = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    # botocore reads the signing time from botocore.auth.get_current_datetime (botocore 1.3x+).
    botocore.auth.get_current_datetime = lambda *args, **kwargs: timestamp
    credentials = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        headers=dict(case.get("headers", [])),
        data=case.get("body", "").encode("utf-8"),
        params=dict(case.get("params", [])),
    )
    if case.get("unsigned_payload"):
        # How boto3 users turn body signing off; S3SigV4Auth honours it on https only.
        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    if case["kind"] == "header":
        botocore.auth.S3SigV4Auth(credentials, "s3", case["region"]).add_auth(request)
        return {"headers": {name.lower(): value for name, value in request.headers.items()}}
    botocore.auth.S3SigV4QueryAuth(credentials, "s3", case["region"], expires=case["expires"]).add_auth(request)
    return {"url": request.url}


def main():
    cases = json.load(sys.stdin)["cases"]
    results = {case["id"]: sign(case) for case in cases}
    json.dump({"botocore_version": botocore.__version__, "results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
