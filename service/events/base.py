"""What every event has: a frozen payload model with a type name and schema version,
metadata about who caused it, and one registry from type name to class."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticSerializationError

from service.errors import InvalidEventPayload, UnknownEventType


class Event(BaseModel):
    """Base for event payloads: past-tense names, immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1


class EventMetadata(BaseModel):
    """Who and what caused an event; carried beside the payload, not inside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None
    request_id: str | None = None


E = TypeVar("E", bound=type[Event])

EVENT_TYPES: dict[str, type[Event]] = {}

# Each type's compiled JSON validator, looked up once per stored row rather than through
# the class: reading the log decodes hundreds of thousands of payloads.
_VALIDATE_JSON: dict[str, Callable[[str | bytes], Event]] = {}
# Each registered class's serializer and validator, for the write path: one lookup by
# class also proves the class is the one registered under its name.
_ENCODERS: dict[type[Event], tuple[Callable[[Event], bytes], Callable[[bytes], Event]]] = {}


def register(cls: E) -> E:
    """Class decorator: make an event type known to the store by its TYPE name."""
    if cls.TYPE in EVENT_TYPES:
        raise RuntimeError(f"event type {cls.TYPE} registered twice")
    EVENT_TYPES[cls.TYPE] = cls
    _VALIDATE_JSON[cls.TYPE] = cls.__pydantic_validator__.validate_json
    _ENCODERS[cls] = (cls.__pydantic_serializer__.to_json, cls.__pydantic_validator__.validate_json)
    return cls


def event_class(event_type: str) -> type[Event]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def decode_event(event_type: str, data: str | bytes | dict[str, Any]) -> Event:
    """Turn a stored payload back into its model; refuses unknown types and bad payloads."""
    try:
        validate = _VALIDATE_JSON[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None
    try:
        if isinstance(data, dict):
            return EVENT_TYPES[event_type].model_validate(data)
        return validate(data)
    except ValidationError as exc:
        raise InvalidEventPayload(event_type, _summarise(exc)) from None


def encode_event(event: Event) -> str:
    """The JSON to store, validated as it will be read back: registered type, valid content.

    Validating the encoded bytes (not the object) catches payloads built without
    validation, and checks exactly what is written.
    """
    cls = type(event)
    try:
        to_json, validate_json = _ENCODERS[cls]
    except KeyError:
        raise UnknownEventType(cls.__name__) from None
    try:
        encoded = to_json(event)
        validate_json(encoded)
    except ValidationError as exc:
        raise InvalidEventPayload(cls.TYPE, _summarise(exc)) from None
    except PydanticSerializationError as exc:
        raise InvalidEventPayload(cls.TYPE, str(exc)) from None
    return encoded.decode()


def _summarise(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
    )


_NO_METADATA = EventMetadata()


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event on its way into the log: payload, id, metadata.

    A plain slotted class, not a model: an append builds one per event, and the payload
    is validated where it counts, as the JSON that is written (`encode_event`).
    """

    event: Event
    event_id: uuid.UUID
    metadata: EventMetadata = _NO_METADATA

    def __post_init__(self) -> None:
        if not isinstance(self.event_id, uuid.UUID):
            object.__setattr__(self, "event_id", uuid.UUID(str(self.event_id)))
        if not isinstance(self.metadata, EventMetadata):
            raise TypeError(f"metadata must be EventMetadata, not {type(self.metadata).__name__}")

    @classmethod
    def of(
        cls,
        event: Event,
        *,
        event_id: uuid.UUID | None = None,
        metadata: EventMetadata | None = None,
    ) -> NewEvent:
        return cls(event, event_id or uuid.uuid4(), metadata or _NO_METADATA)


class RecordedEvent:
    """An event as stored: its place in the log and its decoded payload.

    A plain slotted class rather than a pydantic model: reading the whole log decodes
    hundreds of thousands of these, and only the payload needs validation.
    """

    __slots__ = (
        "_metadata",
        "event",
        "event_id",
        "position",
        "recorded_at",
        "schema_version",
        "stream_id",
        "transaction_id",
        "type",
        "version",
    )

    def __init__(
        self,
        *,
        position: int,
        transaction_id: int,
        stream_id: str,
        version: int,
        event_id: uuid.UUID,
        type: str,
        schema_version: int,
        event: Event,
        metadata: EventMetadata | str,
        recorded_at: datetime,
    ) -> None:
        self.position = position
        self.transaction_id = transaction_id
        self.stream_id = stream_id
        self.version = version
        self.event_id = event_id
        self.type = type
        self.schema_version = schema_version
        self.event = event
        self._metadata = metadata
        self.recorded_at = recorded_at

    @property
    def metadata(self) -> EventMetadata:
        """Decoded on first use: most readers of the log never look at it."""
        if isinstance(self._metadata, str):
            self._metadata = EventMetadata.model_validate_json(self._metadata)
        return self._metadata

    def __repr__(self) -> str:
        return f"<RecordedEvent {self.stream_id}@{self.version} #{self.position} {self.type}>"
