"""The notification server: preferences (:mod:`.store`), the matching index (:mod:`.index`),
the workers that turn bus messages into notification jobs (:mod:`.worker`) and the senders
(email, IRC, digests).  See docs/notifier.md."""
