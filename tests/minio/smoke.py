#!/usr/bin/env python3
"""Smoke test for tests/minio/{start,stop}.sh with a real S3 client (boto3).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install boto3
    /tmp/venv/bin/python tests/minio/smoke.py [--no-webhook]

Starts a webhook listener on 127.0.0.1, starts the server in a temp dir with
GRAPHFS_MINIO_WEBHOOK_URL/TOKEN set, then: create bucket, put/get (path-style),
multipart upload of 12 MiB in 5 MiB parts, ranged GET, list, bucket
notification (s3:ObjectCreated:* -> arn:minio:sqs::graphfs:webhook), delete;
stop, start again on the same DIR, check the object survived, stop.
"""
import http.server
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "graphfs-webhook-token"
WEBHOOK = "--no-webhook" not in sys.argv

events = []  # (path, headers, body)
events_cv = threading.Condition()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        with events_cv:
            events.append((self.path, dict(self.headers.items()), body))
            events_cv.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def load_env(d):
    env = {}
    with open(os.path.join(d, "env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            env[k] = shlex.split(v)[0] if v else ""
    return env


def client(env):
    return boto3.client(
        "s3",
        endpoint_url=env["GRAPHFS_S3_ENDPOINT"],
        aws_access_key_id=env["GRAPHFS_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["GRAPHFS_S3_SECRET_ACCESS_KEY"],
        region_name=env["GRAPHFS_S3_REGION"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def run(*cmd, extra_env=None):
    e = dict(os.environ)
    e.update(extra_env or {})
    t = time.time()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=e, text=True).stdout
    print(f"  {os.path.basename(cmd[0])}: {out.strip()} ({time.time() - t:.2f}s)")
    return out.strip()


def wait_events(n, timeout=15):
    deadline = time.time() + timeout
    with events_cv:
        while len(events) < n and time.time() < deadline:
            events_cv.wait(deadline - time.time())
        return len(events) >= n


def main():
    d = tempfile.mkdtemp(prefix="graphfs-s3-")
    extra = {}
    if WEBHOOK:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        extra = {
            "GRAPHFS_MINIO_WEBHOOK_URL": f"http://127.0.0.1:{srv.server_address[1]}/graphfs/events",
            "GRAPHFS_MINIO_WEBHOOK_TOKEN": TOKEN,
        }
    print("dir:", d)
    run(os.path.join(HERE, "start.sh"), d, extra_env=extra)
    env = load_env(d)
    print("env:", {k: v for k, v in env.items() if "SECRET" not in k})
    s3 = client(env)
    minio = env.get("GRAPHFS_S3_SERVER") == "minio"
    b = "graphfs-smoke"
    s3.create_bucket(Bucket=b)

    if WEBHOOK and minio:
        s3.put_bucket_notification_configuration(
            Bucket=b,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "Id": "graphfs",
                        "QueueArn": "arn:minio:sqs::graphfs:webhook",
                        "Events": ["s3:ObjectCreated:*"],
                    }
                ]
            },
        )
        print("notification config:", s3.get_bucket_notification_configuration(Bucket=b).get("QueueConfigurations"))
        events.clear()  # MinIO may POST a test/ping on target init

    key = "dir one/hello wörld+x.txt"
    s3.put_object(Bucket=b, Key=key, Body=b"hello graphfs")
    assert s3.get_object(Bucket=b, Key=key)["Body"].read() == b"hello graphfs"

    # multipart: 12 MiB in 5 MiB parts (5 + 5 + 2)
    data = os.urandom(12 * 1024 * 1024)
    part = 5 * 1024 * 1024
    mpu = s3.create_multipart_upload(Bucket=b, Key="big.bin")
    parts = []
    for i, off in enumerate(range(0, len(data), part), start=1):
        r = s3.upload_part(Bucket=b, Key="big.bin", UploadId=mpu["UploadId"], PartNumber=i, Body=data[off:off + part])
        parts.append({"ETag": r["ETag"], "PartNumber": i})
    s3.complete_multipart_upload(Bucket=b, Key="big.bin", UploadId=mpu["UploadId"], MultipartUpload={"Parts": parts})
    head = s3.head_object(Bucket=b, Key="big.bin")
    print("multipart:", head["ContentLength"], head["ETag"])
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")

    r = s3.get_object(Bucket=b, Key="big.bin", Range="bytes=5242870-5242889")
    assert r["Body"].read() == data[5242870:5242890], "ranged GET"
    print("ranged GET:", r["ContentRange"])

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", []))
    print("list:", keys)
    if not minio and keys != sorted([key, "big.bin"]):
        # s3s-fs 0.14.1 ignores ListObjectsV2 encoding-type=url (which boto3
        # always sends) and returns raw keys; boto3 then url-decodes them, so a
        # '+' in a key shows up as ' ' here. The object on disk is correct.
        print("  KNOWN s3s-fs LIMITATION (encoding-type=url ignored):", keys)
    else:
        assert keys == sorted([key, "big.bin"])
        pref = s3.list_objects_v2(Bucket=b, Prefix="dir one/", Delimiter="/")
        assert [o["Key"] for o in pref.get("Contents", [])] == [key]

    if WEBHOOK and minio:
        ok = wait_events(2)
        print(f"webhook events received: {len(events)} (ok={ok})")
        for path, headers, body in events[:2]:
            print("  POST", path)
            for h in sorted(headers):
                print(f"    {h}: {headers[h]}")
            doc = json.loads(body)
            print("    body:", json.dumps(doc, indent=2)[:3000])
        assert ok, "expected 2 ObjectCreated events"
        got = {json.loads(bd)["Records"][0]["s3"]["object"]["key"] for _, _, bd in events}
        print("  object keys in events:", got)
        assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, h, _ in events)

    s3.put_object(Bucket=b, Key="deleteme", Body=b"x")
    s3.delete_object(Bucket=b, Key="deleteme")
    assert "deleteme" not in [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])]

    # outage: stop, start again on the same DIR, object must survive
    port = env["GRAPHFS_S3_ENDPOINT"]
    run(os.path.join(HERE, "stop.sh"), d)
    try:
        s3.head_bucket(Bucket=b)
        raise AssertionError("server still answering after stop.sh")
    except AssertionError:
        raise
    except Exception as e:
        print("  while stopped:", type(e).__name__)
    run(os.path.join(HERE, "start.sh"), d, extra_env=extra)
    env2 = load_env(d)
    print("same endpoint after restart:", env2["GRAPHFS_S3_ENDPOINT"] == port, env2["GRAPHFS_S3_ENDPOINT"])
    s3 = client(env2)
    assert s3.get_object(Bucket=b, Key=key)["Body"].read() == b"hello graphfs"
    assert s3.get_object(Bucket=b, Key="big.bin")["Body"].read() == data
    print("objects survived restart")
    run(os.path.join(HERE, "stop.sh"), d)
    print("smoke: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
