from keyroll_server import KeyrollServer

from keyroll_client import KeyrollClient


def test_sends_the_key_through_the_gateway(keyroll: KeyrollServer) -> None:
    c = keyroll.consumer_with_key()
    client = KeyrollClient.from_value(c["key"], base_url=keyroll.gateway_url)
    res = client.get("/api/prices")
    assert res.status == 200
    assert keyroll.upstream.hits[-1].key_id == c["key_id"]
