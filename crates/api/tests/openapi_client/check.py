"""Checks the pydantic models a Python client generated from docs/openapi.json have every field
API.md documents (documented_fields.json), at every level of nesting.

Usage: python check.py MODELS_PY DOCUMENTED_FIELDS_JSON OPENAPI_JSON
Exit status 0 when every field is there; otherwise it lists what is missing.
"""

import importlib.util
import json
import re
import sys
import types
import typing

from pydantic import BaseModel, RootModel


def load_models(path):
    spec = importlib.util.spec_from_file_location("catalyst_models", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["catalyst_models"] = module
    spec.loader.exec_module(module)
    return module


def schema_ref(doc, body):
    op = doc["paths"][body["path"]][body["method"]]
    if body["body"] == "request":
        content = op.get("requestBody", {}).get("content", {})
    else:
        content = op["responses"].get(body["body"], {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None, "no application/json schema"
    ref = schema.get("$ref")
    if ref is None:
        return None, "an inline schema (a client needs a named one)"
    return ref.rsplit("/", 1)[1], None


def class_for(models, name):
    """The generated class of component `name` (datamodel-codegen drops `_` and capitalises)."""
    wanted = re.sub(r"[^0-9a-zA-Z]", "", name).lower()
    for attr in dir(models):
        value = getattr(models, attr)
        if isinstance(value, type) and issubclass(value, BaseModel) and attr.lower() == wanted:
            return value
    return None


def models_in(annotation):
    """The model classes an annotation can hold (through Optional, unions, lists, root models)."""
    found = []
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.List, typing.Annotated):
        for arg in typing.get_args(annotation):
            found += models_in(arg)
    elif isinstance(annotation, type) and issubclass(annotation, RootModel):
        found += models_in(annotation.model_fields["root"].annotation)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    return found


def has_field(model, path):
    head, _, rest = path.partition(".")
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    if head not in fields:
        return False
    if not rest:
        return True
    return any(has_field(m, rest) for m in models_in(fields[head].annotation))


def main():
    models = load_models(sys.argv[1])
    bodies = json.load(open(sys.argv[2]))["bodies"]
    doc = json.load(open(sys.argv[3]))
    problems = []
    checked = 0
    for body in bodies:
        where = f'{body["method"].upper()} {body["path"]} {body["body"]} (API.md §{body["section"]})'
        name, why = schema_ref(doc, body)
        if name is None:
            problems.append(f"{where}: {why}")
            continue
        model = class_for(models, name)
        if model is None:
            problems.append(f"{where}: no generated class for component {name}")
            continue
        for field in body["fields"]:
            checked += 1
            if not has_field(model, field):
                problems.append(f"{where}: {model.__name__} has no `{field}`")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"{checked} documented fields found in the generated client models")


if __name__ == "__main__":
    main()
