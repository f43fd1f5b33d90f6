"""Schemathesis hooks for .ci/contract (loaded through SCHEMATHESIS_HOOKS).

One rule of the API cannot be written in an OpenAPI document: an `Idempotency-Key` names
one request, so a client must not send the same key with a different request (Nexus
answers 422, as draft-ietf-httpapi-idempotency-key-header says it should). Schemathesis
draws keys from the declared pattern independently of the rest of the request, and draws
the same few short keys again and again, so most of its "valid" requests that carry a key
would reuse one with another body: every such 422 would be the fuzzer breaking the
protocol, not the server breaking the contract.

So a well-formed key is made specific to its request: a digest of the method, path, query
and body is appended to it, and of the headers that say what the body is (its media type
and, for an upload, its `Content-Disposition` file name): an upload is its bytes with their
declared type and name, and the same sample file sent as another type is another request. The same request keeps the same key (replays are still
exercised), a different one gets a different key, and a malformed key is left as drawn so
that its 400 is still tested. Key reuse with a different body is tested over HTTP in
crates/nexus/tests/api/safety.rs.
"""

import hashlib
import json
import re

import schemathesis

# The pattern the document declares for Idempotency-Key (nexus-http's safety.rs).
KEY = re.compile(r'"[!#-~]{1,255}"|[!#-~]{1,255}')
DIGEST_CHARS = 16


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() != "idempotency-key" or not isinstance(value, str):
            continue
        if not KEY.fullmatch(value):
            continue
        quoted = value.startswith('"')
        key = value[1:-1] if quoted else value
        described_by = {
            k.lower(): v
            for k, v in headers.items()
            if k.lower() in ("content-type", "content-disposition")
        }
        request = [
            case.method,
            case.path,
            case.path_parameters,
            case.query,
            case.body,
            case.media_type,
            described_by,
        ]
        # Keys in the order they are sent: the server compares the bytes of the body.
        digest = hashlib.sha256(json.dumps(request, default=repr).encode()).hexdigest()[
            :DIGEST_CHARS
        ]
        key = f"{key[: 255 - DIGEST_CHARS - 1]}.{digest}"
        headers[name] = f'"{key}"' if quoted else key
