"""``ledger chaos``: a seeded fault-injection run of the whole system that proves its guarantees with figures.

Modules, in the order a run uses them:

- :mod:`~ledger_cli.chaos.catalogue` what the load sends (one entry per command kind; extend it here)
- :mod:`~ledger_cli.chaos.expectations` what an applied or refused command must do (postings, events)
- :mod:`~ledger_cli.chaos.plan` and :mod:`~ledger_cli.chaos.schedule` the seeded load plan and fault schedule
- :mod:`~ledger_cli.chaos.sandbox` the run's own database, AMQP namespace and process environment
  (:class:`ledger_cli.system.OwnSystem`, shared with ``ledger bench``, plus the proxy)
- :class:`ledger_cli.processes.Supervisor` the real gateway/worker/relay processes
- :mod:`~ledger_cli.chaos.proxy` the loopback TCP proxy between those processes and RabbitMQ
- :mod:`~ledger_cli.chaos.faults` the injectors and the loop that fires the schedule
- :mod:`~ledger_cli.chaos.load` the AMQP publishers and HTTP clients; :mod:`~ledger_cli.chaos.driver` sends the plan
- :mod:`~ledger_cli.chaos.collector` the checker's own event subscriber; :mod:`~ledger_cli.chaos.broker` its queue probe
- :mod:`~ledger_cli.chaos.checks` and :mod:`~ledger_cli.chaos.report` the verdict
- :mod:`~ledger_cli.chaos.run` the orchestration: sandbox, load + faults, drain, check, report
"""
