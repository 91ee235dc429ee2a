"""The base of every wire model: PascalCase aliases, unknown keys kept, absent stays absent."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializationInfo, SerializerFunctionWrapHandler, model_serializer
from pydantic.alias_generators import to_pascal


class WireModel(BaseModel):
    """A body object of the API.

    * attributes are snake_case, wire keys PascalCase (``alias_generator``; odd spellings such
      as ``ECSImageId`` or ``DesiredVMCount`` are spelled out on the field);
    * unknown keys are kept and echoed (``extra="allow"``, reference §12 #51/#52);
    * an optional key that was absent and has no documented default is left out of
      ``model_dump`` instead of appearing as ``null``, so dumping by alias gives the wire JSON.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_pascal)

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        fields_set = self.model_fields_set
        for name, field in type(self).model_fields.items():
            if name in fields_set:
                continue
            key = (field.alias or name) if info.by_alias else name
            if key in data and data[key] is None:
                del data[key]
        return data
