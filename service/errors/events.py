"""The event log's refusals: the store is the one writer of the truth, so what it will not
append (an unknown type, a bad payload, a stale version, a reused id) has its own types,
raised before or instead of any write."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


class EventStoreError(VideoRefresherError):
    """The event store refused the operation."""

    code = "event_store"


class UnknownEventType(EventStoreError):
    """No event class is registered under this type name."""

    status = 400
    code = "unknown_event_type"

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}", event_type=event_type)


class InvalidEventPayload(EventStoreError):
    """The event's payload does not match its schema."""

    status = 400
    code = "invalid_event"

    def __init__(self, event_type: str, problems: str) -> None:
        super().__init__(f"invalid {event_type} payload: {problems}", event_type=event_type)


class WrongExpectedVersion(EventStoreError):
    """The stream is not at the version the writer expected."""

    status = 409
    code = "version_conflict"

    def __init__(self, stream: str, expected: object, actual: int) -> None:
        self.stream, self.expected, self.actual = stream, expected, actual
        super().__init__(
            f"stream {stream!r}: expected version {expected}, actual version {actual}",
            stream=stream,
            expected=expected,
            actual=actual,
        )


class DuplicateEventId(EventStoreError):
    """An event with this id is already stored with different content."""

    status = 409
    code = "duplicate_event_id"

    def __init__(self, stream: str, event_ids: list[str]) -> None:
        super().__init__(
            f"stream {stream!r}: event id(s) {', '.join(event_ids)} already stored "
            "with different content",
            stream=stream,
            event_ids=event_ids,
        )


class InvalidStreamName(EventStoreError):
    """Stream names are non-empty printable text without newlines."""

    status = 400
    code = "invalid_stream"
