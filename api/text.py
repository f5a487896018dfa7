"""Text inputs: control characters are refused, and an empty form field is not a default."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, model_validator
from starlette.datastructures import FormData

from domain.errors import InvalidInput

# C0 controls and DEL. A NUL in a search matched every order; none of them is ever text.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Free text may span lines: tab, newline and carriage return stay allowed there.
CONTROL_IN_PROSE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(name: str, value: str, *, multiline: bool = False) -> str:
    """The value, or InvalidInput naming the field if it holds a control character."""
    pattern = CONTROL_IN_PROSE if multiline else CONTROL
    if pattern.search(value):
        raise InvalidInput(f"{name}: control characters are not allowed")
    return value


class TextBody(BaseModel):
    """A JSON body whose every string field refuses control characters."""

    model_config = ConfigDict(extra="ignore")
    multiline: ClassVar[frozenset[str]] = frozenset()  # fields that may hold line breaks
    secret: ClassVar[frozenset[str]] = frozenset({"password"})  # never inspected or echoed

    @model_validator(mode="after")
    def _no_control_characters(self) -> TextBody:
        for name, value in self:
            if isinstance(value, str) and name not in self.secret:
                check_text(name, value, multiline=name in self.multiline)
        return self


async def refuse_control_characters(request: Request) -> None:
    """App-wide: no query parameter or path segment may carry a control character."""
    for name, value in request.query_params.multi_items():
        check_text(name, value)
        check_text("query parameter name", name)
    check_text("path", request.url.path)


def refuse_empty_fields(form: FormData, names: tuple[str, ...]) -> None:
    """A form field that is sent but empty is a mistake, never a request for the default."""
    for name in names:
        value: Any = form.get(name)
        if isinstance(value, str) and not value.strip():
            raise InvalidInput(f"{name}: must not be empty (leave the field out for the default)")


def changes_of(body: BaseModel, clearable: frozenset[str]) -> dict[str, Any]:
    """A PATCH body's changes: the fields sent, where null clears a field in `clearable` and
    keeps any other. A body that sends no field at all is refused."""
    sent = body.model_dump(exclude_unset=True)
    if not sent:
        raise InvalidInput("give at least one field to change")
    return {k: v for k, v in sent.items() if v is not None or k in clearable}
