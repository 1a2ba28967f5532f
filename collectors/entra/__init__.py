"""Microsoft Entra ID collector: Microsoft Graph v1.0 responses saved to files (docs/collectors/entra.md).

``collect_offline(folder)`` (in ``offline``) reads the export files and turns them into records;
``live`` writes the same files from the Graph API.
"""

from __future__ import annotations

from collectors.entra.offline import collect_offline

__all__ = ["collect_offline"]
