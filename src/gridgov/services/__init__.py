"""Use cases: functions over a unit of work, an instant and the rules, thin over the domain."""
