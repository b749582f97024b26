"""``fedbus dlq``: a consumer's dead letters — what is there, and putting them back.

    fedbus dlq notifier                    # how many, and the oldest 20: id, topic, reason
    fedbus dlq notifier --replay           # move them all back into the queue, oldest first
    fedbus dlq notifier --replay --limit 1000 --max-waiting 5000
    fedbus dlq notifier --replay --id 3f0c… --id 9a1e…   # only these, the rest stays

``<queue>.dlq`` holds what the broker dropped from the head of the full queue (reason
``broker: maxlen``: the consumer was stopped or slow) and what the consumer refused (its
reason).  ``--replay`` puts them back into the consumer's own queue only (through
``fedbus.queues``, so no other consumer sees them again); the consumer skips any it had
already handled (dedupe by message id).  The replay pauses while the queue holds
``--max-waiting`` messages (so it never pushes the queue's head out again) and stops with
an error if the queue does not drain (its consumer is not running).  Run it as the
consumer's account (its ``[amqp]`` settings: ``-c``) once the cause is fixed.
"""

from __future__ import annotations

import argparse
from typing import Any

from fedbus import config
from fedbus.cli.cmd_catalog import table
from fedbus.cli.parsing import positive_int
from fedbus.client.blocking import connected, quiet_pika
from fedbus.consumer.replay import consumer_queue, peek, replay
from fedbus.errors import FedbusError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dlq",
        help="a consumer's dead letters: show them, replay them",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("queue", help="the consumer's queue (not its .dlq), e.g. notifier")
    p.add_argument("--url", action="append", metavar="URL", help="AMQP URL (default: [amqp])")
    p.add_argument("--replay", action="store_true", help="move the dead letters back")
    p.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="at most N (shown: 20; replayed: all there are when it starts)",
    )
    p.add_argument("--id", action="append", dest="ids", metavar="MESSAGE_ID",
                   help="replay: only the dead letter with this message id (repeat)")
    p.add_argument(
        "--max-waiting",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="replay: pause while the queue holds N messages or more (10000)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    consumer_queue(args.queue)
    if args.ids and not args.replay:
        raise FedbusError("--id: only with --replay (the list shows every id)")
    if args.ids and args.limit is not None:
        raise FedbusError("--id and --limit: choose one")
    cfg = config.load(args.config, missing_ok=bool(args.url))
    quiet_pika(args.verbose)
    urls = tuple(args.url) if args.url else None
    with connected(cfg.amqp, urls, "fedbus-dlq") as conn:
        channel = conn.channel()
        if args.replay:
            ids = frozenset(args.ids) if args.ids else None
            done = replay(channel, args.queue, args.limit, ids=ids, max_waiting=args.max_waiting)
            print(
                f"replayed {done.moved} messages into {args.queue}; {done.left} left in "
                f"{args.queue}.dlq"
            )
            return 0
        count, letters = peek(channel, args.queue, args.limit or 20)
        print(f"{args.queue}.dlq: {count} messages" + (", oldest first:" if letters else ""))
        if letters:
            rows = [("FAILED AT", "ID", "TOPIC", "REASON", "BODY")]
            rows += [(d.failed_at, d.message_id, d.topic, d.reason, d.start) for d in letters]
            print(table(rows), end="")
    return 0
