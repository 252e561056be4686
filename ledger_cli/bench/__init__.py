"""``ledger bench``: the one benchmark of the whole ledger, with a pgbench ceiling measured in the same run.

By default the bench runs a system of its own (:class:`ledger_cli.system.OwnSystem`: its database and
AMQP namespace, real ``ledger gateway``, ``ledger worker`` and ``ledger relay`` processes), so it can
read each process's CPU time and peak RSS; ``--url``/``--external`` measures a running system instead.

Modules, in the order a run uses them:

- :mod:`~ledger_cli.bench.options` the command line and the run's settings
- :mod:`~ledger_cli.bench.accounts` the accounts, created in bulk in SQL, and the pairs transfers use
- :mod:`~ledger_cli.bench.ceiling` the pgbench ceiling: one transfer's SQL, without the ledger around it
- :mod:`~ledger_cli.bench.bus` the bench's AMQP publisher and its own event subscriber
- :mod:`~ledger_cli.bench.measure` closed and open loops and what one scenario counted
- :mod:`~ledger_cli.bench.scenarios` the scenarios (``amqp-uniform``, ``amqp-hot``, ``http``, ``mixed``,
  ``latency``, ``idle``)
- :mod:`~ledger_cli.bench.monitor` outbox backlog, CPU seconds and RSS of each process, sampled each second
- :mod:`~ledger_cli.bench.report` the table and the JSON
- :mod:`~ledger_cli.bench.run` the orchestration
"""
