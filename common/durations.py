"""A length of time as people say it ("3 days", "36 hours", "15 minutes"), for pages and messages that
name a configured lifetime rather than hard-coding it."""


def in_words(seconds: int) -> str:
    """The largest whole unit that measures ``seconds`` exactly (minutes at least, rounded down)."""
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if (seconds >= size and seconds % size == 0) or unit == "minute":
            count = max(1, seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return ""
