#!/usr/bin/env python3
"""Generates src/api/internal/kms_model_data.cc from botocore's AWS KMS service model.

The request validator (src/api/internal/validator.cc) checks every request body against the
model: JSON types, required members, lengths, ranges, enums and patterns. This script keeps only
what that needs (operation -> input shape; for each shape reachable from an input: type,
members in model order, required, min, max, pattern, enum, sensitive, list member, map
key/value) and embeds it in C++ as a raw string literal, so the build needs no botocore.

Usage (from anywhere):
    python3 tools/gen_kms_model.py            # rewrite src/api/internal/kms_model_data.cc
    python3 tools/gen_kms_model.py --check    # exit 1 if the committed file is stale
    python3 tools/gen_kms_model.py --model path/to/service-2.json[.gz] --out file.cc
"""

import argparse
import gzip
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "api", "internal", "kms_model_data.cc")
MODEL_REL = os.path.join("data", "kms", "2014-11-01", "service-2.json.gz")

# Raw-string delimiter; the script refuses to emit if ")<DELIM>\"" occurs in the JSON text.
DELIM = "KMSMODEL"
# g++ has no practical limit, but other compilers cap literal pieces at ~16 KB; stay well below.
CHUNK_CHARS = 8000

# Shape keys the validator reads (documentation, errors, deprecation etc. are dropped).
SCALAR_KEYS = ("min", "max", "pattern", "enum", "sensitive")


def find_model():
    try:
        import botocore  # pylint: disable=import-outside-toplevel
    except ImportError:
        sys.exit("botocore is not installed; pass --model path/to/service-2.json.gz")
    base = os.path.join(os.path.dirname(botocore.__file__), MODEL_REL)
    # Newer botocore ships the model gzipped; older releases (e.g. Debian's) ship plain JSON.
    for path in (base, base[: -len(".gz")]):
        if os.path.exists(path):
            return path, "botocore " + botocore.__version__
    sys.exit(f"no KMS model under botocore {botocore.__version__} ({base}); pass --model")


def load_model(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def trim(model):
    shapes = model["shapes"]
    operations = {}
    for name in sorted(model["operations"]):
        op = model["operations"][name]
        # Every KMS operation has an input; an operation without one would take "{}".
        operations[name] = op["input"]["shape"] if "input" in op else None

    keep = {}

    def visit(shape_name):
        if shape_name in keep:
            return
        shape = shapes[shape_name]
        out = {"type": shape["type"]}
        keep[shape_name] = out
        for key in SCALAR_KEYS:
            if key in shape:
                out[key] = shape[key]
        if shape["type"] == "structure":
            # A list of [name, shape] pairs keeps the model's member order, which sets the
            # order of validation messages.
            out["members"] = [[m, spec["shape"]] for m, spec in shape["members"].items()]
            if shape.get("required"):
                out["required"] = list(shape["required"])
            for _, target in out["members"]:
                visit(target)
        for key in ("member", "key", "value"):
            if key in shape:
                out[key] = shape[key]["shape"]
                visit(shape[key]["shape"])

    for input_shape in operations.values():
        if input_shape is not None:
            visit(input_shape)
    return operations, keep


def render_json(model, operations, shapes, source):
    """One operation or shape per line, so diffs of a regenerated model stay readable."""
    dump = lambda v: json.dumps(v, ensure_ascii=True, separators=(",", ":"))
    lines = ["{"]
    lines.append('"source":%s,' % dump(source))
    lines.append('"apiVersion":%s,' % dump(model["metadata"]["apiVersion"]))
    lines.append('"operations":{')
    ops = list(operations.items())
    for i, (name, shape) in enumerate(ops):
        lines.append("%s:%s%s" % (dump(name), dump(shape), "," if i + 1 < len(ops) else ""))
    lines.append("},")
    lines.append('"shapes":{')
    names = sorted(shapes)
    for i, name in enumerate(names):
        lines.append("%s:%s%s" % (dump(name), dump(shapes[name]), "," if i + 1 < len(names) else ""))
    lines.append("}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_cc(json_text, source, n_ops, n_shapes):
    if (")" + DELIM + '"') in json_text:
        sys.exit("the raw-string delimiter occurs in the model text; pick another DELIM")
    # Split at line ends into pieces of at most CHUNK_CHARS (a single longer line stays whole).
    pieces, current = [], ""
    for line in json_text.splitlines(keepends=True):
        if current and len(current) + len(line) > CHUNK_CHARS:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    body = "\n".join('R"%s(%s)%s"' % (DELIM, p, DELIM) for p in pieces)
    return f"""\
// GENERATED by tools/gen_kms_model.py from {source}'s
// data/kms/2014-11-01/service-2.json.gz ({n_ops} operations, {n_shapes} input shapes).
// Do not edit by hand. To regenerate (needs botocore in the Python environment):
//   python3 tools/gen_kms_model.py
// and `python3 tools/gen_kms_model.py --check` tells whether this file is current.
// Only what request validation needs is kept: operation -> input shape; per shape its type,
// members (in model order), required, min, max, pattern, enum, sensitive, list member and
// map key/value.

#include "api/internal/kms_model.h"

namespace scytale::api::internal {{

// clang-format off
const char* const kKmsModelJson =
{body};
// clang-format on

}}  // namespace scytale::api::internal
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="service-2.json(.gz); default: the installed botocore's")
    parser.add_argument("--source", help="provenance text for the header comment")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if --out differs from what would be generated")
    args = parser.parse_args()

    if args.model:
        path, source = args.model, args.source or os.path.basename(args.model)
    else:
        path, source = find_model()
        source = args.source or source
    model = load_model(path)
    operations, shapes = trim(model)
    json_text = render_json(model, operations, shapes, source)
    json.loads(json_text)  # must stay valid JSON
    cc = render_cc(json_text, source, len(operations), len(shapes))

    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != cc:
            print(f"{args.out} differs from what {source} gives; run tools/gen_kms_model.py "
                  "with the botocore named in its header", file=sys.stderr)
            return 1
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(cc)
    print(f"wrote {args.out}: {len(operations)} operations, {len(shapes)} shapes, "
          f"{len(json_text)} chars of JSON from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
