"""Activity scheduling (活动安排): venues, recurring activities, conflicts, registrations."""
