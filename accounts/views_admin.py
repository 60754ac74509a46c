"""Administration in the browser: retailer admins manage their users and stores, police admins their
officers and jurisdictions, platform operators provision tenants."""

from __future__ import annotations

urlpatterns: list = []
