"""Topic names: ``org.fedoraproject.<env>.<category>.<object>[.<sub>…].<event>``.

Words are lower-case ASCII letters, digits, ``_`` and ``-``; ``<env>`` is one of
:data:`ENVIRONMENTS`; after it come at least a category, an object and an event.
:func:`topic_matches` implements AMQP topic-exchange matching (``*`` one word, ``#`` zero or
more words) so filters behave exactly like broker bindings.
"""

from __future__ import annotations

import re

from fedbus.errors import ValidationError

PREFIX = ("org", "fedoraproject")
ENVIRONMENTS = ("publictest", "stg", "prod", "local")
MAX_BYTES = 255  # AMQP short string
_WORD = re.compile(r"[a-z0-9_-]+")


def check_word(word: str, what: str = "word") -> str:
    """Return ``word`` if it is a valid topic word, else raise ValidationError naming it."""
    if not _WORD.fullmatch(word):
        raise ValidationError(
            f"topic {what} {word!r}: expected lower-case ASCII letters, digits, '_' or '-'"
        )
    return word


def validate_topic(topic: str) -> str:
    """Return ``topic`` if it follows the naming scheme, else raise ValidationError."""
    if not isinstance(topic, str) or not topic:
        raise ValidationError(f"topic {topic!r}: empty")
    if len(topic.encode("utf-8")) > MAX_BYTES:
        raise ValidationError(f"topic {topic[:40]!r}…: longer than {MAX_BYTES} bytes")
    words = topic.split(".")
    if tuple(words[:2]) != PREFIX:
        raise ValidationError(f"topic {topic!r}: must start with 'org.fedoraproject.'")
    if len(words) < 6:
        raise ValidationError(
            f"topic {topic!r}: expected org.fedoraproject.<env>.<category>.<object>…<event>"
        )
    if words[2] not in ENVIRONMENTS:
        raise ValidationError(
            f"topic {topic!r}: environment {words[2]!r} is not one of {', '.join(ENVIRONMENTS)}"
        )
    for i, word in enumerate(words[3:]):
        what = "category" if i == 0 else ("event" if i == len(words) - 4 else "word")
        check_word(word, what)
    return topic


def is_valid_topic(topic: str) -> bool:
    try:
        validate_topic(topic)
    except ValidationError:
        return False
    return True


def build_topic(env: str, category: str, *words: str) -> str:
    """``build_topic("stg", "bus", "queue", "created")``
    → ``org.fedoraproject.stg.bus.queue.created``; ValidationError naming a bad word."""
    return validate_topic(".".join((*PREFIX, env, category, *words)))


def split_topic(topic: str) -> tuple[str, str, tuple[str, ...]]:
    """``(env, category, (object, …, event))`` of a valid topic."""
    words = validate_topic(topic).split(".")
    return words[2], words[3], tuple(words[4:])


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a valid binding key (words, ``*``, ``#``)."""
    if pattern == "":
        return pattern
    for word in pattern.split("."):
        if word not in ("*", "#") and not re.fullmatch(r"[A-Za-z0-9_-]+", word):
            raise ValidationError(
                f"topic pattern {pattern!r}: bad word {word!r} "
                "(letters, digits, '_', '-', '*' or '#')"
            )
    return pattern


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    # Dynamic programming over (pattern word, topic word); '#' eats zero or more words.
    reach = {0}
    for p in pattern:
        nxt: set[int] = set()
        for i in reach:
            if p == "#":
                nxt.update(range(i, len(words) + 1))
            elif i < len(words) and (p == "*" or p == words[i]):
                nxt.add(i + 1)
        if not nxt:
            return False
        reach = nxt
    return len(words) in reach


def topic_matches(pattern: str, topic: str) -> bool:
    """True if ``topic`` matches the AMQP binding key ``pattern`` (``*``, ``#``)."""
    return _match(tuple(pattern.split(".")), tuple(topic.split(".")))
