"""Ship the content (challenges/, reference/) inside a regular wheel as lmprep/_content/.

An editable install gets no copy: lmprep reads the content from the checkout there, and
a copy in site-packages would be one more place from which a submission could read the
hidden specs and references.
"""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CONTENT = {"challenges": "lmprep/_content/challenges", "reference": "lmprep/_content/reference"}


class ContentHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if version != "editable":
            build_data["force_include"].update(CONTENT)
