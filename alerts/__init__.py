"""Rules, detectors, rule state, alert events and their publication on Redis.

Public API: `RuleRunner` (alerts.runner), `AlertPublisher` (alerts.publisher), `AlertEvent` (alerts.event),
`tail` (alerts.tail) and `read_alerts` (alerts.history). The wire format's schema is docs/alert-event.schema.json.
"""
