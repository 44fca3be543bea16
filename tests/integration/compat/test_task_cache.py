"""``taskCache`` is honoured: the kestra-io/blueprints ``caching`` flow downloads its product
catalogue once, and the next execution joins the cached copy in DuckDB."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from controlplane.engine.model import State
from tests.integration.compat.conftest import Flows

FILES = {
    "/transactions.csv": "transaction_id,product_id,quantity,sale_price\n1,10,2,5.0\n2,11,1,9.5\n",
    "/products.csv": "product_id,product_name,cost_price\n10,pen,1.5\n11,ink,4.0\n",
}
SERVED: Counter[str] = Counter()


class _Files(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = FILES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        SERVED[self.path] += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def server() -> Iterator[str]:
    SERVED.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


CACHING = """
id: caching
namespace: company.team
tasks:
  - id: transactions
    type: io.kestra.plugin.core.http.Download
    uri: {base}/transactions.csv
  - id: products
    type: io.kestra.plugin.core.http.Download
    uri: {base}/products.csv
    taskCache:
      enabled: true
      ttl: {ttl}
  - id: duckdb
    type: io.kestra.plugin.jdbc.duckdb.Query
    fetchType: FETCH
    inputFiles:
      products.csv: "{{{{ outputs.products.uri }}}}"
      transactions.csv: "{{{{ outputs.transactions.uri }}}}"
    sql: |-
      SELECT t.transaction_id, p.product_name, (t.sale_price - p.cost_price) * t.quantity AS profit
      FROM read_csv_auto('transactions.csv') AS t
      JOIN read_csv_auto('products.csv') AS p USING (product_id)
      ORDER BY t.transaction_id
"""


def _profits(flows: Flows, base: str, ttl: str) -> list[tuple[object, ...]]:
    final = flows.run(CACHING.format(base=base, ttl=ttl))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (duckdb,) = [r for r in final.task_runs if r.task_id == "duckdb"]
    return [(r["transaction_id"], r["product_name"], r["profit"]) for r in duckdb.outputs["rows"]]


def test_a_cached_download_is_not_fetched_again_and_its_file_is_reused(
    flows: Flows, server: str
) -> None:
    expected = [(1, "pen", 7.0), (2, "ink", 5.5)]
    assert _profits(flows, server, "PT24H") == expected
    assert _profits(flows, server, "PT24H") == expected
    assert SERVED == {"/transactions.csv": 2, "/products.csv": 1}


def test_an_expired_cache_entry_runs_the_task_again(flows: Flows, server: str) -> None:
    _profits(flows, server, "PT0S")
    _profits(flows, server, "PT0S")
    assert SERVED["/products.csv"] == 2
