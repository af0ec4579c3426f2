"""Every manifest under s3://BUCKET/PREFIX points only at complete blobs: each artifact's blob
exists, with the manifest's size (and, for small ones, its sha256). Prints one line per problem
and "N manifests, N artifacts checked"; exits 1 on any problem."""
import hashlib
import json
import os
import sys

import boto3

bucket, prefix = sys.argv[1], sys.argv[2].rstrip("/") + "/"
s3 = boto3.client("s3", endpoint_url=os.environ["PODFLOW_S3_ENDPOINT"])
manifests, artifacts, problems = 0, 0, 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
    for item in page.get("Contents", []):
        key = item["Key"]
        if not key.endswith("/manifest.json"):
            continue
        manifests += 1
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        flow = manifest["flow"]
        for name, blob in manifest["artifacts"].items():
            artifacts += 1
            sha = blob["sha256"]
            blob_key = f"{prefix}{flow}/data/{sha[:2]}/{sha}"
            try:
                head = s3.head_object(Bucket=bucket, Key=blob_key)
            except s3.exceptions.ClientError:
                print(f"{key}: artifact {name} -> missing blob {blob_key}")
                problems += 1
                continue
            if head["ContentLength"] != blob["size"]:
                print(f"{key}: artifact {name} -> blob of {head['ContentLength']} bytes, "
                      f"manifest says {blob['size']}")
                problems += 1
            elif blob["size"] <= 64 * 1024 * 1024:
                body = s3.get_object(Bucket=bucket, Key=blob_key)["Body"].read()
                if hashlib.sha256(body).hexdigest() != sha:
                    print(f"{key}: artifact {name} -> blob content does not match its sha256")
                    problems += 1
print(f"{manifests} manifests, {artifacts} artifacts checked")
sys.exit(1 if problems else 0)
