"""Import: Outlook events become OpenAir bookings (rules, merge, the per-mailbox delta pass, subscriptions)."""
