"""Raises while being imported."""


def helper():
    return {}["missing"]


helper()
