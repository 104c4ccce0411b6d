"""The judging engine: runs a challenge's hidden specs against a submission.

``grade(challenge_dir, submission)`` returns a `Report`. The verdict is computed in a
trusted judge process; the learner's code runs only in an untrusted worker process.
This package knows nothing of the CLI, the progress store or the learner's workspace.
"""

from grader.report import EXIT_CODES, Outcome, Report, TestResult, Verdict
from grader.runner import grade

__all__ = ["EXIT_CODES", "Outcome", "Report", "TestResult", "Verdict", "grade"]
