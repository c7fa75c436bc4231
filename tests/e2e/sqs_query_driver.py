"""Makes SQS calls with an old boto3, one that speaks the query protocol, for
test_sqs_query.py. The suite's own interpreter has a new boto3 (JSON 1.0),
so this runs under the venv of tests/requirements-sqs-query.txt and must
import nothing from the suite.

It serves calls over its stdin and stdout, one JSON object per line, so one
process (one import of boto3) serves a whole test module:

  first line out:  {"boto3": "1.28.57", "botocore": "1.31.57", "protocol": "query"}
  a call in:       {"endpoint": ..., "region": ..., "access_key_id": ...,
                    "secret_access_key": ..., "op": "create_queue", "args": {...}}
  its answer out:  {"ok": <the parsed response>}
                 | {"error": {"code", "type", "message", "status", "request_id"}}
                 | {"crash": "<traceback>"}   (anything but a ClientError)
"""

import json
import sys
import traceback

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

_clients = {}


def client(call):
    key = (call["endpoint"], call["region"], call["access_key_id"], call["secret_access_key"])
    if key not in _clients:
        _clients[key] = boto3.session.Session().client(
            "sqs",
            endpoint_url=call["endpoint"],
            region_name=call["region"],
            aws_access_key_id=call["access_key_id"],
            aws_secret_access_key=call["secret_access_key"],
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                          connect_timeout=5, read_timeout=30),
        )
    return _clients[key]


def answer(call):
    try:
        return {"ok": getattr(client(call), call["op"])(**call.get("args", {}))}
    except ClientError as e:
        err = e.response.get("Error", {})
        meta = e.response.get("ResponseMetadata", {})
        return {"error": {
            "code": err.get("Code"),
            "type": err.get("Type"),
            "message": err.get("Message"),
            "status": meta.get("HTTPStatusCode"),
            "request_id": meta.get("RequestId"),
        }}
    except Exception:  # noqa: BLE001 - reported to the test, which fails
        return {"crash": traceback.format_exc()}


def main():
    probe = boto3.session.Session().client("sqs", region_name="us-east-1",
                                           aws_access_key_id="x", aws_secret_access_key="x")
    print(json.dumps({"boto3": boto3.__version__, "botocore": botocore.__version__,
                      "protocol": probe.meta.service_model.protocol}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(answer(json.loads(line)), default=str), flush=True)


if __name__ == "__main__":
    main()
