"""AWS IAM collector: authorization details, credential reports, access keys, Organizations
accounts and IAM Identity Center exports -> records (docs/collectors/aws.md).

``collect_offline(folder)`` (in ``offline``) reads the export files and turns them into records;
``live`` writes the same files with boto3.
"""

from __future__ import annotations

from collectors.aws.offline import collect_offline

__all__ = ["collect_offline"]
