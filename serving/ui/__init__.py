"""The dashboard: server-rendered pages under /ui over what the service already holds."""
