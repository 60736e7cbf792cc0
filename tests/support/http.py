"""HTTP helpers shared by the API tests."""

from __future__ import annotations

# ``If-Match: *`` matches whatever the current version is: for tests of something other than
# concurrency on operations that require If-Match (clients, enrollments, households).
ANY_VERSION = {"If-Match": "*"}
