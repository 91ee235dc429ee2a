"""The base of every wire model: PascalCase aliases, unknown keys kept, absent stays absent."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_pascal


class WireModel(BaseModel):
    """A body object of the API.

    * attributes are snake_case, wire keys PascalCase (``alias_generator``; odd spellings such
      as ``ECSImageId`` or ``DesiredVMCount`` are spelled out on the field);
    * unknown keys are kept and echoed (``extra="allow"``, reference §12 #51/#52);
    * an optional key that was absent and has no documented default is left out of
      ``model_dump`` instead of appearing as ``null``, so dumping by alias gives the wire JSON
      (an unknown key sent as ``null`` is therefore not echoed).
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_pascal)

    def model_dump(self, *, exclude_none: bool = True, **kwargs: Any) -> dict[str, Any]:
        """As pydantic's, but ``None`` (an optional key that was absent) is left out by default.

        JSON ``null`` never passes the rule walk for a known key, so ``None`` only ever means
        "absent"; leaving it out in the (Rust) serializer keeps dumps fast and wire-shaped.
        """
        return super().model_dump(exclude_none=exclude_none, **kwargs)

    def model_dump_json(self, *, exclude_none: bool = True, **kwargs: Any) -> str:
        """As pydantic's, leaving ``None`` out by default (see ``model_dump``)."""
        return super().model_dump_json(exclude_none=exclude_none, **kwargs)
