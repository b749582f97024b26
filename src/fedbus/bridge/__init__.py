"""Broker events onto the bus: RabbitMQ's event exchange → fedbus messages.

The ``rabbitmq_event_exchange`` plugin publishes the broker's events (routing keys
``connection.created``, ``queue.deleted``, …; the data in the AMQP headers, the body empty) on
the topic exchange ``amq.rabbitmq.event`` of one vhost (``rabbitmq_event_exchange.vhost``,
default ``/``).  The bridge consumes the few that operators care about and republishes each as
``<topic_prefix>.bus.<event>`` on ``amq.topic`` with a fedbus schema, with publisher confirms.

- :mod:`fedbus.bridge.events` — pure: event headers → (topic, schema, body), or skip;
- :mod:`fedbus.bridge.service` — the AMQP loop (pika, confirms, reconnects).
"""
