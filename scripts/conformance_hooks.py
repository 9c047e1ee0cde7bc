"""schemathesis hooks for scripts/conformance: rules JSON Schema cannot state.

A delivery lists each file once; the schema can require distinct items but not distinct
`file_id`s, so valid-data cases that repeat a file are not generated.
"""

import schemathesis


@schemathesis.hook
def filter_case(context, case):
    meta = getattr(case, "meta", None)
    positive = meta is not None and meta.generation.mode.is_positive
    if positive and case.path.endswith("/delivery") and isinstance(case.body, dict):
        files = case.body.get("files")
        if isinstance(files, list):
            ids = [f.get("file_id") for f in files if isinstance(f, dict)]
            return len(ids) == len(set(ids))
    return True
