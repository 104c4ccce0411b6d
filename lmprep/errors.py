"""The project's own exceptions; the CLI turns them into one-line errors (exit 1)."""


class LmprepError(Exception):
    """Bad input a person can act on: the message says what is wrong and what to do."""


class UnknownChallenge(LmprepError):
    pass
