"""schemathesis hooks for scripts/conformance: the ids of the setup, which a schema cannot know.

Every phase (examples, coverage, fuzzing, stateful) goes through `before_call`, and schemathesis
checks the case again after it, so a positive case stays positive:
- a delivery's `files[i].file_id` (any string the generator made) becomes the i-th uploaded
  file of the setup: ten distinct files, so a delivery never lists one twice;
- before a delivery is set, the product gets a file and a link again (a part left out of the
  body keeps the saved one, so `{"mode": "files"}` is valid only while there is a file to keep:
  an earlier case may have taken it off);
- an order item's `product_id` becomes the product the setup sells;
- before a webhook endpoint is created, the five oldest are deleted once there are nine (a shop
  has at most ten), so a valid creation is answered 201, not 409, and the newest endpoints (the
  ones a stateful scenario goes on to use) stay;
- a resend goes to an order of the setup's pool, three to each (an order allows three resends
  an hour), so the operation is tested rather than answered 429; once the pool is used up the
  shared order answers 429, which the description documents.
"""

import json
import os
import urllib.request

import schemathesis

FILES = os.environ["CONFORMANCE_FILES"].split()
SOLD = os.environ["CONFORMANCE_SOLD"]
RESEND_POOL = os.environ["CONFORMANCE_RESEND_ORDERS"].split()
BASE = os.environ["CONFORMANCE_BASE"]
KEY = os.environ["CONFORMANCE_KEY"]
RESENDS_PER_ORDER = 3  # orders::RESEND_LIMIT
_resends = {"order": 0, "count": 0}


def _replace_ids(items, key, value_at):
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get(key), str):
                item[key] = value_at(i)


def _full_setup(product_id):
    """Gives the product a file and a link (in no mode), whatever earlier cases left."""
    body = {"mode": "none", "files": [{"file_id": FILES[0]}], "external_url": "https://example.com/setup"}
    request = urllib.request.Request(
        f"{BASE}/api/v1/products/{product_id}/delivery",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
    except OSError:
        pass  # not a product of the setup (a generated id): the case is about that


def _api(method, path):
    request = urllib.request.Request(f"{BASE}/api/v1{path}", method=method, headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def _room_for_an_endpoint():
    """Deletes the five oldest endpoints (listed oldest first) once there are nine."""
    endpoints = _api("GET", "/webhook-endpoints")
    if len(endpoints) >= 9:
        for endpoint in endpoints[:5]:
            _api("DELETE", f"/webhook-endpoints/{endpoint['id']}")


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body if isinstance(case.body, dict) else None
    if case.path.endswith("/delivery") and body is not None:
        _replace_ids(body.get("files"), "file_id", lambda i: FILES[i % len(FILES)])
        if case.method.upper() == "PUT" and (case.path_parameters or {}).get("id"):
            _full_setup(case.path_parameters["id"])
    elif case.path == "/api/v1/orders" and case.method.upper() == "POST" and body is not None:
        _replace_ids(body.get("items"), "product_id", lambda _: SOLD)
    elif case.path == "/api/v1/webhook-endpoints" and case.method.upper() == "POST":
        _room_for_an_endpoint()
    elif case.path.endswith("/resend") and _resends["order"] < len(RESEND_POOL):
        case.path_parameters = {**(case.path_parameters or {}), "id": RESEND_POOL[_resends["order"]]}
        _resends["count"] += 1
        if _resends["count"] == RESENDS_PER_ORDER:
            _resends["order"] += 1
            _resends["count"] = 0
