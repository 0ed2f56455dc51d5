"""Schemathesis checks for bench/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Schemathesis sees HTTP status codes but not GraphQL error codes, so these
checks read every response body: it must be a well-formed GraphQL response
(a JSON object with `data` and/or `errors`, each error with a `message`),
and no error may carry `extensions.code == "INTERNAL"` (an input the API
should have refused as BAD_USER_INPUT, or a bug). Every response is also
tallied in $FUZZ_STATS (one JSON line each) for the script's summary, with
the request of each failure so it can be replayed.
"""

import json
import os

import schemathesis


def _record(case, response, payload, internal, malformed):
    path = os.environ.get("FUZZ_STATS")
    if not path:
        return
    line = {
        "role": os.environ.get("FUZZ_ROLE", "?"),
        "operation": getattr(case.operation, "label", "?"),
        "status": response.status_code,
        "internal": internal,
        "malformed": malformed,
        "codes": _codes(payload),
        "first_error": _first_message(payload),
    }
    if internal or malformed or response.status_code >= 500:
        line["request"] = case.body
        line["response"] = response.text[:2000]
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, default=str) + "\n")


def _codes(payload):
    """The `extensions.code` of each error, to see what the run exercised."""
    if not isinstance(payload, dict) or not isinstance(payload.get("errors"), list):
        return []
    return [
        (e.get("extensions") or {}).get("code") for e in payload["errors"] if isinstance(e, dict)
    ]


def _first_message(payload):
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message"))[:200]
    return None


def _internal_errors(payload):
    errors = payload.get("errors") or []
    return [
        e for e in errors
        if isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "INTERNAL"
    ]


def _malformed(payload):
    """Why the body is not a GraphQL response, or None when it is one."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    if "data" not in payload and "errors" not in payload:
        return "the body has neither `data` nor `errors`"
    errors = payload.get("errors")
    if errors is not None:
        if not isinstance(errors, list) or not errors:
            return "`errors` is not a non-empty list"
        if any(not isinstance(e, dict) or not isinstance(e.get("message"), str) for e in errors):
            return "an error has no `message` string"
    return None


@schemathesis.check
def graphql_well_formed_without_internal(ctx, response, case):
    """Fails on a 5xx, a body that is not a GraphQL response, or an INTERNAL error.

    (Schemathesis' own not_a_server_error also fails on every GraphQL
    `errors` entry, such as UNAUTHENTICATED for an anonymous caller, so it
    is not used.)
    """
    try:
        payload = json.loads(response.text)
    except ValueError:
        payload = None
        malformed = "the body is not JSON"
    else:
        malformed = _malformed(payload)
    internal = _internal_errors(payload) if isinstance(payload, dict) else []
    _record(case, response, payload, len(internal), malformed)
    if response.status_code >= 500:
        raise AssertionError(f"Server error {response.status_code}: {response.text[:300]}")
    if malformed:
        raise AssertionError(f"Malformed GraphQL response: {malformed}: {response.text[:300]}")
    if internal:
        raise AssertionError(f"INTERNAL error: {json.dumps(internal)[:500]}")
    return None
