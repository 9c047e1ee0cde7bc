"""schemathesis hooks for scripts/conformance: the ids of the setup, which a schema cannot know.

Every phase (examples, coverage, fuzzing, stateful) goes through `before_call`, and schemathesis
checks the case again after it, so a positive case stays positive:
- a delivery's `files[i].file_id` (any string the generator made) becomes the i-th uploaded
  file of the setup: ten distinct files, so a delivery never lists one twice;
- an order item's `product_id` becomes the product the setup sells;
- a resend goes to an order of the setup's pool, three to each (an order allows three resends
  an hour), so the operation is tested rather than answered 429; once the pool is used up the
  shared order answers 429, which the description documents.
"""

import os

import schemathesis

FILES = os.environ["CONFORMANCE_FILES"].split()
SOLD = os.environ["CONFORMANCE_SOLD"]
RESEND_POOL = os.environ["CONFORMANCE_RESEND_ORDERS"].split()
RESENDS_PER_ORDER = 3  # orders::RESEND_LIMIT
_resends = {"order": 0, "count": 0}


def _replace_ids(items, key, value_at):
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get(key), str):
                item[key] = value_at(i)


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body if isinstance(case.body, dict) else None
    if case.path.endswith("/delivery") and body is not None:
        _replace_ids(body.get("files"), "file_id", lambda i: FILES[i % len(FILES)])
    elif case.path == "/api/v1/orders" and case.method.upper() == "POST" and body is not None:
        _replace_ids(body.get("items"), "product_id", lambda _: SOLD)
    elif case.path.endswith("/resend") and _resends["order"] < len(RESEND_POOL):
        case.path_parameters = {**(case.path_parameters or {}), "id": RESEND_POOL[_resends["order"]]}
        _resends["count"] += 1
        if _resends["count"] == RESENDS_PER_ORDER:
            _resends["order"] += 1
            _resends["count"] = 0
