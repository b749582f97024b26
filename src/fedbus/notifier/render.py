"""What a notification says: the email subject and text, the IRC line.

- a ``git.receive`` message (Fedora's git hook schema) becomes a commit email, the old
  "cvs commit mail": ``[<repo>] <branch>: <summary>`` and the patch (``str(message)``);
- any other message: its summary as the subject, its full text (``str(message)``) and URL;
- every email ends with the links to the settings that caused it (``/settings/rules``);
- IRC: one line, the summary and the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fedora_messaging.message import Message

from fedbus.notifier.facts import summary_of, text_of, url_of
from fedbus.notifier.index import Notification
from fedbus.notifier.jobs import Job

MAX_TEXT = 200_000
MAX_LINE = 400


def is_commit(topic: str) -> bool:
    return topic.endswith(".git.receive")


def is_repeat(topic: str, body: Any) -> bool:
    """A commit the same push already announced on another branch (the git hook's
    ``seen``): the watchers were told of it once, and are not told again."""
    commit = body.get("commit") if is_commit(topic) and isinstance(body, dict) else None
    return isinstance(commit, dict) and commit.get("seen") is True


def _commit_subject(body: Mapping[str, Any], summary: str) -> str:
    commit = body.get("commit") if isinstance(body, dict) else None
    if not isinstance(commit, dict):
        return summary
    repo = commit.get("repo") or "?"
    if commit.get("namespace"):
        repo = f"{commit['namespace']}/{repo}"
    return f"[{repo}] {commit.get('branch', '?')}: {commit.get('summary', '')}".strip()


def one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def jobs_for(message: Message, matches: list[Notification], base_url: str) -> list[Job]:
    summary = summary_of(message)
    url = url_of(message)
    text = text_of(message)[:MAX_TEXT]
    topic = message.topic
    subject = _commit_subject(message.body, summary) if is_commit(topic) else summary
    subject = one_line(subject, 200)
    jobs = []
    for m in matches:
        target = m.target
        d = target.destination
        footer = (
            f"\n\n-- \nYou receive this because of your notification rules "
            f"{', '.join(f'#{r}' for r in sorted(m.rule_ids))}: "
            f"{base_url}/settings/rules\nTopic: {topic}\n"
        )
        body = text if (url is None or url in text) else f"{text}\n\n{url}"
        line = one_line(summary + (f" {url}" if url else ""), MAX_LINE)
        jobs.append(
            Job(
                message_id=str(message.id),
                user_id=target.user_id,
                user=target.user,
                destination_id=d.id,
                kind=d.kind,
                address=d.address,
                delivery=d.delivery,
                topic=topic,
                summary=summary,
                subject=subject if d.kind == "email" else "",
                text=body + footer if d.kind == "email" else line,
                url=url,
                rule_ids=sorted(m.rule_ids),
                digest_cap=d.digest_cap,
                headers={"X-Fedbus-Topic": topic, "X-Fedbus-Message-Id": str(message.id)},
            )
        )
    return jobs
