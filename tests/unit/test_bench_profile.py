"""The profile summary of ``ledger bench --profile``: py-spy's folded stacks -> shares by package and function."""

from ledger_cli.bench.profile import package_of, summarise

_RUN = "<module> (ledger_cli/main.py:10);run (/usr/lib/python3.13/asyncio/runners.py:118)"
FOLDED = f"""\
{_RUN};apply (/work/ledger_worker/store.py:40) 6
{_RUN};execute (/v/lib/python3.13/site-packages/asyncpg/connection.py:350) 3
<module> (ledger_cli/main.py:10);_run_once (/usr/lib/python3.13/asyncio/base_events.py:2000) 1
not a line
"""


def test_package_of_names_libraries_ours_and_the_standard_library() -> None:
    assert package_of("/v/lib/python3.13/site-packages/asyncpg/connection.py") == "asyncpg"
    assert package_of("/work/main/ledger_worker/store.py") == "ledger_worker"
    assert package_of("/usr/lib/python3.13/asyncio/base_events.py") == "asyncio"
    assert package_of("/usr/lib/python3.13/json/decoder.py") == "json"


def test_summarise_counts_self_time_at_the_leaf_and_total_time_once_per_stack() -> None:
    text = summarise("worker-1", FOLDED)
    assert "10 samples" in text
    assert "| ledger_worker | 60.0 % |" in text
    assert "| asyncpg | 30.0 % |" in text
    assert "| apply (store.py) | 60.0 % |" in text
    # <module> is in every stack: 100 % inclusive, 0 % self.
    assert "| <module> (main.py) | 100.0 % |" in text
    assert summarise("relay-1", "") == "## relay-1\n\nno samples\n"


def test_package_of_reads_the_paths_py_spy_shortened() -> None:
    assert package_of("aiormq/channel.py") == "aiormq"
    assert package_of("asyncio/streams.py") == "asyncio"
    assert package_of("contextlib.py") == "contextlib"
    assert package_of("<frozen runpy>") == "<frozen runpy>"
