"""审计日志: the audit trail (``app.audit``) shown and exported, within the viewer's org scope."""
