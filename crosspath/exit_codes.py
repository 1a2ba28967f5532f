"""The exit codes every command shares (README "Scheduling and gates", docs/scheduling.md)."""

EXIT_FINDINGS = 3  # open findings at or above --fail-on (or new ones with --fail-on-new)
EXIT_COVERAGE = 4  # nothing collected, or a source covered last time is not covered now
EXIT_EXCEPTION_ISSUES = 5  # an exception needs someone to act (with --fail-on-exception-issues)
EXIT_NOTIFICATIONS = 6  # `crosspath run`: a notification was not delivered (gate.fail_on_notification_errors)
