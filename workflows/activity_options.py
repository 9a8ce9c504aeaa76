"""The options a workflow passes to each call of an activity, as one typed bundle (``**QUICK``): only keys
that ``execute_activity_method`` and ``execute_local_activity_method`` both accept, checked by the type
checker."""

from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy


class ActivityOptions(TypedDict, total=False):
    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta
    retry_policy: RetryPolicy
