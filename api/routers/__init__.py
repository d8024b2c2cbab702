"""One router per resource: operations, classification, history, alerts and subscriptions, rules."""
