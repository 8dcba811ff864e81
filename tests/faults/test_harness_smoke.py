import requests

from faults.services import make_node


def test_node_on_private_postgres(postgres, redis_server, nodes, tmp_path):
    node = make_node(tmp_path, "a", DATABASE_URL=postgres.url, REDIS_URL=redis_server.url)
    nodes.append(node.start("--workers", "1", "--threads", "2"))
    assert requests.get(node.url + "/jwks.json").status_code == 200
