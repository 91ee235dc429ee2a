"""The base of every wire model: PascalCase aliases, unknown keys kept, frozen, one normal form.

A parsed body is already in the normal form the provider diffs, idempotent replays compare and
the store keeps (``WireModel.wire``): two bodies that mean the same thing give equal values.
Documented defaults are the models' field defaults and are spelled out; an absent optional object
equals an empty one (``Docker: {"Image": ""}`` is no container, ``AutoCluster: {}`` beside a
ClusterId is no AutoCluster, an empty Topic is no notification: ``Omittable``); lists whose order
carries no meaning (Events, Dependencies targets, allow lists, NAS lists) are sorted
(``OrderFree``). Unknown keys are kept as sent.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_pascal


class WireModel(BaseModel):
    """A body object of the API.

    * attributes are snake_case, wire keys PascalCase (``alias_generator``; odd spellings such
      as ``ECSImageId`` or ``DesiredVMCount`` are spelled out on the field);
    * unknown keys are kept and echoed (``extra="allow"``, reference §12 #51/#52);
    * frozen: the scheduler, the launcher and the provider share one value per job;
    * an optional key that was absent and has no documented default is left out of
      ``model_dump`` instead of appearing as ``null``, so dumping by alias gives the wire JSON
      (an unknown key sent as ``null`` is therefore not echoed).
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_pascal, frozen=True)

    def model_dump(self, *, exclude_none: bool = True, **kwargs: Any) -> dict[str, Any]:
        """As pydantic's, but ``None`` (an optional key that was absent) is left out by default.

        JSON ``null`` never passes the rule walk for a known key, so ``None`` only ever means
        "absent"; leaving it out in the (Rust) serializer keeps dumps fast and wire-shaped.
        """
        return super().model_dump(exclude_none=exclude_none, **kwargs)

    def model_dump_json(self, *, exclude_none: bool = True, **kwargs: Any) -> str:
        """As pydantic's, leaving ``None`` out by default (see ``model_dump``)."""
        return super().model_dump_json(exclude_none=exclude_none, **kwargs)

    @property
    def wire(self) -> dict[str, Any]:
        """The normal form as a wire-keyed dict (what is stored, hashed and diffed)."""
        return self.model_dump(by_alias=True)


M = TypeVar("M", bound=WireModel)
_EMPTY: dict[type[WireModel], WireModel] = {}


def _none_if_empty(value: M | None) -> M | None:
    """``None`` for an object equal to its class's empty one (defaults only, no unknown keys).

    Compares the field values directly rather than with ``==`` (this runs for every optional
    object of every body and every stored spec loaded back)."""
    if value is None or value.__pydantic_extra__:
        return value
    cls = type(value)
    empty = _EMPTY.get(cls)
    if empty is None:
        empty = _EMPTY[cls] = cls()
    return None if value.__dict__ == empty.__dict__ else value


def _sorted(items: list[str]) -> list[str]:
    # by repr, the order stored rows have always had
    return sorted(items, key=repr)


#: an optional object whose empty value (``{}`` or only defaults) means absent
Omittable = Annotated[M | None, AfterValidator(_none_if_empty)]
#: a list of strings whose order carries no meaning, kept sorted
OrderFree = Annotated[list[str], AfterValidator(_sorted)]
