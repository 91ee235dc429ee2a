"""Toy program: one Toy per entry of items.yaml; ``parent`` makes one depend on another's id."""

from pathlib import Path

import pulumi
import yaml
from toy_provider import Toy

items = yaml.safe_load((Path(__file__).parent.parent / "items.yaml").read_text()) or {}
cfg = pulumi.Config("toy")
made: dict[str, Toy] = {}
for name, props in items.items():
    props = dict(props)
    parent = props.pop("parent", None)
    if props.get("secret") is not None:
        props["secret"] = pulumi.Output.secret(props["secret"])
    if parent:
        props["parent_id"] = made[parent].id
    made[name] = Toy(name, props)
    pulumi.export(f"{name}_id", made[name].id)
pulumi.export("greeting", cfg.get("greeting"))
