#!/usr/bin/env python3
"""A credentials endpoint for the credential-chain tests, speaking the documented protocols of
the two sources that have no real server on this machine:

  container credentials (ECS, EKS Pod Identity): GET <any path> with an Authorization header
    equal to --token; answers {AccessKeyId, SecretAccessKey, Token, Expiration}.
  IMDSv2: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds gives a session token;
    GET /latest/meta-data/iam/security-credentials/ (the role name) and .../<role> (credentials)
    need that token in X-aws-ec2-metadata-token, else 401.

The credentials are real: each answer is a fresh AssumeRole at the STS MinIO (signed with its root
keys, 900 s, MinIO's minimum), but the Expiration advertised is only --lifetime seconds ahead. The
MinIO sends its audit log here (POST /audit), which names the access key of every request, so the
server can tell whether a client ever signed a request with credentials past the Expiration it was
given: GET /report answers {"issued", "s3_requests", "late_requests", "rejected", ...}; with
--mode audit it serves no credentials and only counts (the distinct access keys of requests show
how often a client fetched new credentials from elsewhere, e.g. STS).

  credentials_server.py --port P --minio URL --root-key K --root-secret S --lifetime 4 --token T
"""
import argparse
import datetime
import json
import secrets
import sys
import threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

import boto3

ROLE = "podflow-test-role"
CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"
# A request signed just before the advertised expiry may reach MinIO's audit a moment after it.
GRACE_SECONDS = 1.0


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.expiry = {}  # access key -> advertised expiration (datetime)
        self.issued = 0
        self.s3_requests = 0
        self.late = []
        self.api_calls = {}  # API name -> count, from the audit log
        self.keys_seen = []  # distinct access keys of requests, in the order first seen
        self.rejected = []  # requests refused for a wrong or missing token
        self.imds_tokens = set()
        self.sts = boto3.client(
            "sts", endpoint_url=args.minio, region_name="us-east-1",
            aws_access_key_id=args.root_key, aws_secret_access_key=args.root_secret)

    def issue(self):
        answer = self.sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/test",
                                      RoleSessionName="podflow-test", DurationSeconds=900)
        credentials = answer["Credentials"]
        expiration = utc_now() + datetime.timedelta(seconds=self.args.lifetime)
        with self.lock:
            self.expiry[credentials["AccessKeyId"]] = expiration
            self.issued += 1
        return {
            "Code": "Success",
            "Type": "AWS-HMAC",
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "Token": credentials["SessionToken"],
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "LastUpdated": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def audit(self, entry):
        key = entry.get("accessKey", "")
        when = entry.get("time", "")
        name = entry.get("api", {}).get("name", "")
        with self.lock:
            self.api_calls[name] = self.api_calls.get(name, 0) + 1
            if key and key not in self.keys_seen:
                self.keys_seen.append(key)
            if key not in self.expiry:
                return  # the root user's or the STS calls': not ours
            self.s3_requests += 1
            try:
                at = datetime.datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                return
            late = (at - self.expiry[key]).total_seconds()
            if late > GRACE_SECONDS:
                self.late.append({"accessKey": key, "api": entry.get("api", {}).get("name"),
                                  "seconds_late": round(late, 2)})

    def report(self):
        with self.lock:
            return {"issued": self.issued, "s3_requests": self.s3_requests,
                    "api_calls": self.api_calls, "keys_seen": len(self.keys_seen),
                    "late_requests": self.late, "rejected": self.rejected}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test prints the report
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def do_PUT(self):
        state = self.server.state
        self.body()
        if self.path != "/latest/api/token" or state.args.mode != "imds":
            return self.reply(404, "not found", "text/plain")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            state.rejected.append("PUT token without a valid TTL header")
            return self.reply(400, "missing or invalid TTL", "text/plain")
        token = secrets.token_urlsafe(24)
        with state.lock:
            state.imds_tokens.add(token)
        self.reply(200, token, "text/plain")

    def do_POST(self):
        state = self.server.state
        data = self.body()
        if self.path != "/audit":
            return self.reply(404, "not found", "text/plain")
        for line in data.splitlines():  # one JSON entry per line, or a batch
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            for item in entry if isinstance(entry, list) else [entry]:
                state.audit(item)
        self.reply(200, "")

    def do_GET(self):
        state = self.server.state
        if self.path == "/report":
            return self.reply(200, json.dumps(state.report()))
        if state.args.mode == "audit":
            return self.reply(404, "not found", "text/plain")
        if state.args.mode == "container":
            if self.headers.get("Authorization") != state.args.token:
                state.rejected.append("container request with a wrong Authorization header")
                return self.reply(401, json.dumps({"message": "bad authorization token"}))
            return self.reply(200, json.dumps(state.issue()))
        token = self.headers.get("X-aws-ec2-metadata-token", "")
        if token not in state.imds_tokens:
            state.rejected.append("IMDS GET without a session token")
            return self.reply(401, "", "text/plain")
        if self.path == CREDENTIALS_PATH:
            return self.reply(200, ROLE, "text/plain")
        if self.path == CREDENTIALS_PATH + ROLE:
            return self.reply(200, json.dumps(state.issue()))
        self.reply(404, "not found", "text/plain")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["container", "imds", "audit"], required=True)
    parser.add_argument("--minio", required=True)
    parser.add_argument("--root-key", required=True)
    parser.add_argument("--root-secret", required=True)
    parser.add_argument("--lifetime", type=float, default=4)
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.state = State(args)
    print(f"credentials server ({args.mode}) on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
